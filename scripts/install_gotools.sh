#!/usr/bin/env bash
# Build the Go-based gRPC clients the tests and benchmarks use (ghz, grpcurl)
# from the Go module proxy at pinned versions, cached in ~/.cache/novaedge/gotools.
set -euo pipefail
cache="$HOME/.cache/novaedge"
bin="$cache/gotools/bin"
tools=(
  "ghz github.com/bojand/ghz/cmd/ghz@v0.121.0"
  "grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3"
)
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
mkdir -p "$bin"
for t in "${tools[@]}"; do
  read -r name pkg <<<"$t"
  stamp="$bin/.$name.version"
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$pkg" ]; then continue; fi
  if [ ! -x "$go" ]; then
    echo "novaedge: Go is needed to build $name (install Go 1.22+ into /usr/local/go or put go on PATH)" >&2
    exit 1
  fi
  echo "novaedge: building $name ($pkg)" >&2
  GOBIN="$bin" GOPATH="$cache/go" GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" \
    GOTOOLCHAIN=local CGO_ENABLED=0 "$go" install -trimpath "$pkg" >&2
  echo "$pkg" >"$stamp"
done

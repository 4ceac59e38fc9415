#!/usr/bin/env bash
# NovaEdge quick start: three demo backends on 127.0.0.1:9001-9003 and an agent
# serving examples/quickstart/config on 127.0.0.1:8080 (admin on :9901).
# Installs Deno first if it is missing. Ctrl-C stops everything. One data-plane
# worker keeps round robin visible request by request (each worker balances on its own).
#   bash examples/quickstart/run.sh          # run until Ctrl-C
#   bash examples/quickstart/run.sh --check  # start, run the demo requests, stop
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=../../scripts/ensure_deno.sh
source "$root/scripts/ensure_deno.sh"
cd "$root"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

deno run --quiet --allow-net "$here/backend.ts" app-1 9001 & pids+=($!)
deno run --quiet --allow-net "$here/backend.ts" app-2 9002 & pids+=($!)
deno run --quiet --allow-net "$here/backend.ts" api 9003 & pids+=($!)
# Wait until every backend listens, so the first requests show the round robin.
for port in 9001 9002 9003; do
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
done
deno run --quiet -A --unstable-net src/main.ts agent --config-dir "$here/config" \
  --admin-address 127.0.0.1:9901 --workers 1 --state-dir "${TMPDIR:-/tmp}/novaedge-quickstart" & pids+=($!)

for _ in $(seq 1 300); do
  if curl -sf http://127.0.0.1:9901/readyz >/dev/null 2>&1; then break; fi
  if ! kill -0 "${pids[3]}" 2>/dev/null; then echo "the agent exited; see its log above" >&2; exit 1; fi
  sleep 0.2
done
curl -sf http://127.0.0.1:9901/readyz >/dev/null || { echo "the agent did not become ready in 60s" >&2; exit 1; }

cat <<'MSG'

NovaEdge is serving on http://127.0.0.1:8080. Try:
  curl -s -H 'Host: app.example.test' http://127.0.0.1:8080/           # round robin over app-1 / app-2
  curl -s -H 'Host: api.example.test' http://127.0.0.1:8080/v1/users    # path routing to api
  curl -s -H 'Host: app.example.test' http://127.0.0.1:8080/api/health  # a path prefix on app's host goes to api
  curl -s -H 'Host: nope.example.test' http://127.0.0.1:8080/           # 404: no route, with the reason
  curl -s http://127.0.0.1:9901/debug/snapshot                          # the snapshot in use
  curl -s http://127.0.0.1:9901/metrics | grep novaedge_
Edit a file under examples/quickstart/config and the agent reloads it.
MSG

if [ "${1:-}" = "--check" ]; then
  set -x
  curl -s -H 'Host: app.example.test' http://127.0.0.1:8080/
  curl -s -H 'Host: app.example.test' http://127.0.0.1:8080/
  curl -s -H 'Host: api.example.test' http://127.0.0.1:8080/v1/users
  curl -s -H 'Host: app.example.test' http://127.0.0.1:8080/api/health
  curl -s -H 'Host: nope.example.test' http://127.0.0.1:8080/
  exit 0
fi
wait

#!/usr/bin/env bash
# Make sure the pinned Deno is on PATH. Deno comes from npm (the machines reach
# the npm registry, not Deno's download site); it is installed into a tools
# prefix outside the project so Deno's own install never enters the project's
# npm graph. Source this file: it exports PATH.
NOVAEDGE_DENO_VERSION="${NOVAEDGE_DENO_VERSION:-2.9.6}"
NOVAEDGE_TOOLS="${NOVAEDGE_TOOLS:-$HOME/.cache/novaedge/tools}"
_ne_deno="$NOVAEDGE_TOOLS/node_modules/.bin/deno"
if ! "$_ne_deno" --version 2>/dev/null | grep -q "deno $NOVAEDGE_DENO_VERSION "; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "novaedge: npm is needed to install Deno $NOVAEDGE_DENO_VERSION (apt-get install nodejs npm)" >&2
    return 1 2>/dev/null || exit 1
  fi
  echo "novaedge: installing Deno $NOVAEDGE_DENO_VERSION from npm into $NOVAEDGE_TOOLS" >&2
  mkdir -p "$NOVAEDGE_TOOLS"
  npm install --silent --no-audit --no-fund --prefix "$NOVAEDGE_TOOLS" "deno@$NOVAEDGE_DENO_VERSION" >&2 || {
    echo "novaedge: npm install deno@$NOVAEDGE_DENO_VERSION failed" >&2
    return 1 2>/dev/null || exit 1
  }
fi
export PATH="$NOVAEDGE_TOOLS/node_modules/.bin:$PATH"
unset _ne_deno

#!/usr/bin/env bash
# Install everything NovaEdge's tests need, then run the whole suite:
# format, lint, type check, unit + golden + end-to-end tests, then the tests
# that need the local Kubernetes control plane (built once and cached under
# ~/.cache/novaedge). Ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../scripts/ensure_deno.sh
source scripts/ensure_deno.sh || exit 1
scripts/install_deps.sh || exit 1
scripts/install_gotools.sh || exit 1

export NO_COLOR=1
log=$(mktemp -d)/tests.log
status=0
step() { echo; echo "=== $*"; }

step "caching dependencies"
deno install --quiet --entrypoint src/main.ts build.ts || status=1

step "deno fmt --check / deno lint / deno check"
deno fmt --check || status=1
deno lint || status=1
deno task --quiet check || status=1

step "building the local Kubernetes control plane (cached)"
if [ -f tests/cluster/cli.ts ]; then
  deno task --quiet cluster build || status=1
fi

step "unit, golden and end-to-end tests"
# Tests that need the local Kubernetes control plane live in tests/cluster/,
# tests/e2e/ or are named *_cluster_test.ts; they run afterwards, one file at a time.
deno test -A --unstable-net --parallel --ignore='tests/cluster,tests/e2e,**/*_cluster_test.ts' \
  tests/ 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1

if [ -d tests/cluster ]; then
  step "tests against the local Kubernetes control plane"
  mapfile -t cluster_tests < <(find tests -name '*_cluster_test.ts' -not -path 'tests/cluster/*' | sort)
  deno test -A --unstable-net tests/cluster/ tests/e2e/ "${cluster_tests[@]}" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
fi

if [ -f tests/conformance/run.ts ]; then
  step "official Gateway API conformance suite (gateway profiles, conformant features)"
  deno task --quiet conformance 2>&1 | tee "$log.conformance"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  # Each "<PROFILE> <level>: success — passed N, failed M, skipped K" counts into the total.
  sed -nE 's/.*: [a-z]+ — passed ([0-9]+), failed ([0-9]+).*/ok | \1 passed | \2 failed/p' \
    "$log.conformance" >>"$log"
fi

# Sum Deno's "ok | N passed ... | M failed" summaries into the plain closing line.
passed=0; failed=0
while read -r p f; do passed=$((passed + p)); failed=$((failed + f)); done < <(
  grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" |
    sed -E 's/^[A-Za-z]+ \| ([0-9]+) passed.*\| ([0-9]+) failed.*/\1 \2/'
)
echo
if [ "$passed" = 0 ] && [ "$failed" = 0 ]; then
  echo "no test ran: that is a failure"; status=1
fi
[ "$status" = 0 ] || [ "$failed" != 0 ] || failed=1
echo "$passed passed, $failed failed"
exit "$status"

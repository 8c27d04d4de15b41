#!/usr/bin/env bash
# `make stress`: the long versions of the torture tests of issue 5, the same e2e
# scenarios that `make test` runs short, with bigger knobs. One line per test:
#   stress: NAME passed|FAILED (exit N) in S s: <the scenario's SUMMARY line>
# Full output of each test: BUILD/stress-logs/NAME.log. Results: docs/reliability.md.
#
# Usage: bash tests/stress/run.sh [BUILD_DIR=build]
# Knobs: STRESS_CYCLES (10000), LOCKS_APPLIES (200), FORK_ROUNDS (100),
#        EXEC_ROUNDS (100), KILL_ROUNDS (20), JEMALLOC_CYCLES (200);
#        STRESS_ONLY="case ..." runs a subset.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd) || { echo "stress: no build directory ${1:-$ROOT/build}" >&2; exit 2; }
export HOTPATCH=$BUILD/hotpatch HOTPATCH_TEST_CLI=$BUILD/hotpatch-test HOTPATCH_RUNTIME=$BUILD/libhotpatch.so HOTPATCH_INCLUDE=$ROOT/include
[ -x "$HOTPATCH" ] || { echo "stress: $HOTPATCH is missing; run make build first" >&2; exit 2; }
LOGS=$BUILD/stress-logs
mkdir -p "$LOGS"

failed=0
total_start=$SECONDS

# run CASE LIMIT_S [VAR=VALUE...]: runs tests/e2e/CASE with the knobs, under a case
# timeout of LIMIT_S seconds, and prints its line.
run() {
  local name=$1 limit=$2 start rc summary
  shift 2
  if [ -n "${STRESS_ONLY:-}" ] && [[ " $STRESS_ONLY " != *" $name "* ]]; then return 0; fi
  if [ ! -f "$ROOT/tests/e2e/$name/scenario.sh" ]; then
    echo "stress: $name skipped (no tests/e2e/$name yet)"
    return 0
  fi
  start=$SECONDS
  env "$@" E2E_CASE_TIMEOUT="$limit" bash "$ROOT/tests/e2e/run-case.sh" "$ROOT/tests/e2e/$name" >"$LOGS/$name.log" 2>&1
  rc=$?
  summary=$(grep -E '^SUMMARY ' "$LOGS/$name.log" | tail -n 1 | sed -E 's/^SUMMARY [a-z_]+: //')
  if [ "$rc" -eq 0 ]; then
    echo "stress: $name passed in $((SECONDS - start)) s${summary:+: $summary} ($*)"
  else
    failed=$((failed + 1))
    echo "stress: $name FAILED (exit $rc) in $((SECONDS - start)) s ($*); see $LOGS/$name.log:"
    grep -E '^FAIL' "$LOGS/$name.log" | head -n 3 | sed 's/^/    /'
  fi
}

run stress_cycles 3600 STRESS_CYCLES="${STRESS_CYCLES:-10000}"
run locks_malloc_dlopen 1800 LOCKS_APPLIES="${LOCKS_APPLIES:-200}"
run fork_during_apply 900 FORK_ROUNDS="${FORK_ROUNDS:-100}"
run exec_during_apply 900 EXEC_ROUNDS="${EXEC_ROUNDS:-100}"
# Interposed jemalloc (preloaded and static), every thread allocating (issue 11).
run hostile_jemalloc 3600 JEMALLOC_CYCLES="${JEMALLOC_CYCLES:-200}"
# Built by another engineer (SIGKILL of the CLI at every step); runs once it exists.
run kill_every_step 1800 KILL_ROUNDS="${KILL_ROUNDS:-20}"

echo "stress: $failed failed, $((SECONDS - total_start)) s in all"
[ "$failed" -eq 0 ]

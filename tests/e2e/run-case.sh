#!/usr/bin/env bash
# Runs one end-to-end case: bash tests/e2e/run-case.sh tests/e2e/<case>
#
# Needs HOTPATCH (the CLI), HOTPATCH_RUNTIME (libhotpatch.so) and HOTPATCH_INCLUDE
# (the repo's include/) in the environment; ctest sets them (CMakeLists.txt).
#
# The case's scenario.sh runs in a child bash with `set -euo pipefail` and
# tests/e2e/lib.sh sourced, in a private work dir $WORK. Whatever happens — pass,
# failure, timeout, Ctrl-C — every process the case started is killed and $WORK is
# removed. Processes are found by the marker HOTPATCH_E2E_TAG=$WORK in their
# environment, inherited by everything the scenario starts, however deep (and
# found in no process of another case, or of anyone else).
#
# Knobs: E2E_CASE_TIMEOUT (seconds, default 120), E2E_KEEP_WORK=1 (keep $WORK).
set -uo pipefail

if [ $# -ne 1 ] || [ ! -f "$1/scenario.sh" ]; then
  echo "usage: $0 CASE_DIR   (a directory holding scenario.sh)" >&2
  exit 2
fi

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CASE_DIR=$(cd "$1" && pwd)
CASE=$(basename "$CASE_DIR")

for var in HOTPATCH HOTPATCH_RUNTIME HOTPATCH_INCLUDE; do
  if [ -z "${!var:-}" ]; then
    echo "e2e/$CASE: FAIL: environment variable $var is not set (run through ctest)" >&2
    exit 2
  fi
done
[ -x "$HOTPATCH" ] || { echo "e2e/$CASE: FAIL: HOTPATCH=$HOTPATCH is not an executable" >&2; exit 2; }
[ -d "$HOTPATCH_INCLUDE/hotpatch" ] || {
  echo "e2e/$CASE: FAIL: HOTPATCH_INCLUDE=$HOTPATCH_INCLUDE has no hotpatch/ headers" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hotpatch-e2e-$CASE.XXXXXX")
HOTPATCH_E2E_TAG=$WORK
export WORK CASE_DIR CASE E2E_DIR HOTPATCH_E2E_TAG HOTPATCH HOTPATCH_RUNTIME HOTPATCH_INCLUDE

# Pids of processes whose initial environment holds our marker. /proc/PID/environ
# is the environment at exec time, so this shell (exec'd before the export) is not
# among them, and neither is anything of another case.
tagged_pids() {
  local env pid
  # (grep itself runs with another tag, or it would find itself)
  for env in $(HOTPATCH_E2E_TAG=none grep -lzxF "HOTPATCH_E2E_TAG=$WORK" /proc/[0-9]*/environ 2>/dev/null); do
    pid=${env#/proc/}
    pid=${pid%/environ}
    [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] || echo "$pid"
  done
}

cleanup() {
  local rc=$? left
  trap - EXIT INT TERM
  trap '' PIPE # a reader that went away (| head) must not stop the cleanup
  # 1. Every process that carries the marker. (By marker, not by a list of pids: a
  # target that exited long ago may have passed its pid on to a stranger.)
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    left=$(tagged_pids)
    [ -z "$left" ] && break
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null
    sleep 0.1
  done
  if [ -n "$(tagged_pids)" ]; then
    echo "e2e/$CASE: FAIL: processes survived SIGKILL: $(tagged_pids | tr '\n' ' ')" >&2
    rc=1
  fi
  # 2. Resources the case registered (on_cleanup), e.g. SysV semaphores.
  if [ -f "$WORK/cleanup-hooks" ]; then
    bash "$WORK/cleanup-hooks" >/dev/null 2>&1 || true
  fi
  if [ "$rc" -eq 77 ]; then
    echo "e2e/$CASE: skipped"
  elif [ "$rc" -ne 0 ]; then
    # The targets' own words usually say what went wrong: show the end of each log.
    local log
    for log in "$WORK"/*.log; do
      [ -f "$log" ] || continue
      echo "---- last lines of $(basename "$log") ----" >&2
      tail -n 15 "$log" >&2
    done
    echo "e2e/$CASE: FAILED (exit $rc)" >&2
  else
    echo "e2e/$CASE: passed"
  fi
  if [ "${E2E_KEEP_WORK:-0}" = 1 ]; then
    echo "e2e/$CASE: work dir kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "e2e/$CASE: interrupted" >&2; exit 130' INT TERM

timeout_s=${E2E_CASE_TIMEOUT:-120}
echo "e2e/$CASE: work dir $WORK"

# The scenario runs in its own bash so that `exit`/`set -e` in it end the scenario,
# not the cleanup. Its own bash, not `timeout`: a watchdog we control can say why.
bash -c 'set -euo pipefail
         cd "$WORK"
         source "$E2E_DIR/lib.sh"
         trap '\''echo "FAIL: scenario.sh line $LINENO: \"$BASH_COMMAND\" failed" >&2; : >"$WORK/failed"'\'' ERR
         source "$CASE_DIR/scenario.sh"' &
scenario=$!
(
  # Watchdog: sleeps in small steps so that it dies soon after the scenario.
  end=$((SECONDS + timeout_s))
  while [ $SECONDS -lt $end ]; do
    kill -0 "$scenario" 2>/dev/null || exit 0
    sleep 0.5
  done
  echo "e2e/$CASE: FAIL: case timed out after ${timeout_s}s" >&2
  touch "$WORK/timed-out"
  kill -TERM "$scenario" 2>/dev/null
  sleep 2
  kill -KILL "$scenario" 2>/dev/null
) &
watchdog=$!

wait "$scenario"
rc=$?
kill "$watchdog" 2>/dev/null
wait "$watchdog" 2>/dev/null
if [ -f "$WORK/timed-out" ]; then
  exit 124
fi
if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then # 77: skipped (lib.sh skip)
  [ -f "$WORK/failed" ] || echo "e2e/$CASE: FAIL: scenario.sh exited with status $rc (a command failed under set -e; see above)" >&2
  exit "$rc"
fi
exit "$rc" # 0, or 77

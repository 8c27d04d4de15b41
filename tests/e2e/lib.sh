# Helpers for tests/e2e/<case>/scenario.sh. Sourced by run-case.sh into a bash with
# `set -euo pipefail`, $WORK (private temp dir, also the cwd) and $CASE_DIR set.
#
# Conventions: a failed check calls `fail`, which prints what was expected and what
# was seen, and ends the scenario. Targets log to $WORK/NAME.log; each log has a read
# cursor, so "the next lines" means lines printed after what was already checked.
#
# The polling helpers use only bash builtins (no sed/grep/sleep per poll): a fork
# costs 10-15 ms on small CI VMs, and a test that polls with forks measures itself.

# --- reporting ---------------------------------------------------------------------

fail() {
  echo "FAIL: $*" >&2
  : >"$WORK/failed"
  exit 1
}

# skip REASON: this machine cannot run the case (ctest reports it as skipped, exit 77:
# SKIP_RETURN_CODE in CMakeLists.txt); the reason is printed, never a silent pass.
skip() {
  echo "SKIP: $*"
  exit 77
}

_T0=${EPOCHREALTIME/./}
# step TEXT: a heading, with the seconds since the case started.
step() {
  local ms=$(((${EPOCHREALTIME/./} - _T0) / 1000))
  printf '== [%d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*"
}
note() { echo "   $*"; }

# _indent FILE: prints FILE with a "   | " margin.
_indent() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do printf '   | %s\n' "$line"; done <"$1"
}

# --- time --------------------------------------------------------------------------

# Clock: ${EPOCHREALTIME/./} is microseconds, read without starting a process.

# _deadline SECONDS: sets _DEADLINE to now + SECONDS (may be fractional), in us.
_deadline() {
  local t=$1 i f
  i=${t%%.*}
  if [ "$i" = "$t" ]; then f=0; else f=${t#*.}; fi
  f=${f}000000
  _DEADLINE=$((${EPOCHREALTIME/./} + 10#${i:-0} * 1000000 + 10#${f:0:6}))
}
_past() { [ "${EPOCHREALTIME/./}" -ge "$1" ]; }

# nap SECONDS: sleeps without starting a process (read with a timeout on a FIFO
# that nobody writes to).
mkfifo "$WORK/.nap"
exec {_NAP_FD}<>"$WORK/.nap"
nap() { read -r -t "$1" -u "$_NAP_FD" _ || true; }

# --- building ----------------------------------------------------------------------

# build_target OUT SRC [cc flags...]   (-O2 -g -pthread; later flags win, e.g. -O0).
# Warnings are errors: a sloppy target would make a test pass or fail for nothing.
# Sources that several cases build alike live in tests/e2e/common/ (not a case: no
# scenario.sh), e.g. build_target target "$E2E_DIR/common/ticker.c".
build_target() {
  local out=$1 src=$2 cc=cc
  shift 2
  case $src in *.cpp | *.cc) cc=c++ ;; esac
  if ! $cc -O2 -g -pthread -Wall -Werror -o "$out" "$src" "$@" 2>"$WORK/cc.err"; then
    cat "$WORK/cc.err" >&2
    fail "could not build $out from $src ($cc $*)"
  fi
}

# build_patch OUT SRC [cc flags...]
build_patch() {
  local out=$1 src=$2
  shift 2
  if ! cc -shared -fPIC -O2 -g -Wall -Werror -I"$HOTPATCH_INCLUDE" -o "$out" "$src" "$@" 2>"$WORK/cc.err"; then
    cat "$WORK/cc.err" >&2
    fail "could not build patch $out from $src"
  fi
}

# --- processes ---------------------------------------------------------------------

declare -gA _CURSOR=()

# start_target NAME cmd...: runs cmd in the background, output to $WORK/NAME.log.
# Sets LAST_PID; the pid is also in $WORK/NAME.pid (pid_of NAME). run-case.sh
# kills whatever is still running at the end (it carries $HOTPATCH_E2E_TAG).
start_target() {
  local name=$1
  shift
  : >"$WORK/$name.log"
  "$@" >"$WORK/$name.log" 2>&1 </dev/null {_NAP_FD}<&- &
  LAST_PID=$!
  echo "$LAST_PID" >"$WORK/$name.pid"
  _CURSOR[$name]=0
}

pid_of() { local pid; read -r pid <"$WORK/$1.pid"; echo "$pid"; }

# on_cleanup CMD...: run by run-case.sh after every process is gone (e.g. ipcrm).
on_cleanup() { printf '%q ' "$@" >>"$WORK/cleanup-hooks"; echo >>"$WORK/cleanup-hooks"; }

# _proc_state PID: sets _STATE to the one-letter state from /proc/PID/stat
# (R S D T t Z X), or "gone". PID may be "PID/task/TID".
_proc_state() {
  local stat
  if ! { IFS= read -r stat <"/proc/$1/stat"; } 2>/dev/null; then
    _STATE=gone
    return
  fi
  stat=${stat##*) }
  _STATE=${stat%% *}
}
proc_state() { _proc_state "$1"; echo "$_STATE"; }

# _tracer PID: sets _TRACER to the TracerPid of PID ("?" if unreadable). The file is
# read in one go: bash's `read` on a /proc file reads ahead, seeks back, and the
# kernel regenerates the text at that offset, shifted when an earlier field changed
# length meanwhile ("State: S (sleeping)" -> "R (running)"): lines came out torn.
_tracer() {
  local status line
  _TRACER='?'
  status=$(cat "/proc/$1/status" 2>/dev/null) || return 0
  while IFS= read -r line; do
    case $line in
      TracerPid:*)
        _TRACER=${line#TracerPid:}
        _TRACER=${_TRACER//[[:space:]]/}
        return
        ;;
    esac
  done <<<"$status"
}

# expect_alive PID: exists, is not a zombie, and nobody ptraces it any more.
expect_alive() {
  _proc_state "$1"
  case $_STATE in
    gone | Z | X) fail "process $1 should be alive, but its state is '$_STATE'" ;;
  esac
  _tracer "$1"
  [ "$_TRACER" = 0 ] || fail "process $1 is still traced by pid $_TRACER (TracerPid), expected 0"
}

# expect_state PID LETTER [TIMEOUT_S=5]: waits until /proc/PID/stat shows that state.
expect_state() {
  local pid=$1 want=$2
  _deadline "${3:-5}"
  local end=$_DEADLINE
  while _proc_state "$pid"; [ "$_STATE" != "$want" ]; do
    _past "$end" && fail "process $pid: expected state '$want', seen '$_STATE' after ${3:-5}s"
    nap 0.02
  done
}

# stop_target NAME: SIGTERM (SIGKILL after 2 s) and reap it.
stop_target() {
  local pid end
  pid=$(pid_of "$1")
  kill -TERM "$pid" 2>/dev/null || return 0
  kill -CONT "$pid" 2>/dev/null || true
  _deadline 2
  end=$_DEADLINE
  while kill -0 "$pid" 2>/dev/null && ! _past "$end"; do
    _proc_state "$pid"
    [ "$_STATE" = Z ] && break
    nap 0.02
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# finish_target NAME [BAD_REGEX=^BAD]: the target is still alive and untraced and
# never printed a line matching BAD_REGEX; then it is stopped.
finish_target() {
  local name=$1 pid
  pid=$(pid_of "$name")
  expect_alive "$pid"
  expect_log_lacks "$name" "${2:-^BAD}"
  stop_target "$name"
}

# --- the CLI -----------------------------------------------------------------------

# _cli: the CLI to run: $HOTPATCH, or $HOTPATCH_TEST_CLI (the same with the
# test-only switches compiled in) when one of them (HOTPATCH_TEST_*) is set.
_cli() {
  if [ -n "${HOTPATCH_TEST_STEPS:-}${HOTPATCH_TEST_STOP_AT:-}${HOTPATCH_TEST_FAIL_AT:-}" ]; then
    echo "${HOTPATCH_TEST_CLI:?HOTPATCH_TEST_CLI is not set (run through ctest)}"
  else
    echo "$HOTPATCH"
  fi
}

# hp ARGS...: the hotpatch CLI. A CLI that hangs is a failure, not a stuck test.
hp() { timeout -k 5 "${HP_TIMEOUT:-60}" "$(_cli)" "$@"; }

# _slurp VAR FILE: VAR = contents of FILE without trailing newlines.
_slurp() {
  local -n _into=$1
  _into=''
  IFS= read -r -d '' _into <"$2" || true
  while [[ $_into == *$'\n' ]]; do _into=${_into%$'\n'}; done
}

# run_cmd cmd...: runs, keeping LAST_RC, LAST_OUT, LAST_ERR (and last.out/.err).
run_cmd() {
  set +e
  "$@" >"$WORK/last.out" 2>"$WORK/last.err"
  LAST_RC=$?
  set -e
  _slurp LAST_OUT "$WORK/last.out"
  _slurp LAST_ERR "$WORK/last.err"
}

_show_run() {
  {
    echo "  command:   $*"
    echo "  exit code: $LAST_RC$([ "$LAST_RC" -eq 124 ] && echo ' (timed out)')"
    echo "  stdout:"
    _indent "$WORK/last.out"
    echo "  stderr:"
    _indent "$WORK/last.err"
  } >&2
}

# expect_success cmd...: exit code 0. Prints the command's stdout (the test log).
expect_success() {
  run_cmd "$@"
  if [ "$LAST_RC" -ne 0 ]; then
    _show_run "$@"
    fail "expected success (exit 0), got exit $LAST_RC from: $*"
  fi
  _indent "$WORK/last.out"
}

# expect_fail CODE REGEX cmd...: exit code CODE and stderr matching REGEX.
expect_fail() {
  local code=$1 regex=$2
  shift 2
  run_cmd "$@"
  if [ "$LAST_RC" -ne "$code" ] || ! _any_line_matches "$regex" "$LAST_ERR"; then
    _show_run "$@"
    fail "expected exit $code with stderr matching /$regex/, got exit $LAST_RC"
  fi
  _indent "$WORK/last.err"
}

# stop_cli_at STEP ARGS...: runs the CLI (ARGS) in the background with
# HOTPATCH_TEST_STOP_AT=STEP and waits until it has stopped itself there (SIGSTOP);
# CLI_PID is its pid, its output goes to $WORK/cli.out and cli.err. Then kill -CONT
# lets it go on, kill -KILL ends it there.
stop_cli_at() {
  local stop_step=$1 line='' end rc
  shift
  : >"$WORK/cli.err"
  HOTPATCH_TEST_STOP_AT=$stop_step "${HOTPATCH_TEST_CLI:?}" "$@" >"$WORK/cli.out" 2>"$WORK/cli.err" </dev/null &
  CLI_PID=$!
  _deadline 30
  end=$_DEADLINE
  while :; do
    _slurp line "$WORK/cli.err"
    [[ $line == *"stopped at step $stop_step "* ]] && break
    if ! kill -0 "$CLI_PID" 2>/dev/null; then
      wait "$CLI_PID" && rc=0 || rc=$?
      fail "the CLI (exit $rc) ended without stopping at step $stop_step; stderr: $line"
    fi
    _past "$end" && fail "the CLI did not reach step $stop_step within 30 s; stderr: $line"
    nap 0.005
  done
  expect_state "$CLI_PID" T 10
}

# kill_at STEP ARGS...: runs the CLI (ARGS) stopped at STEP (stop_cli_at) and kills
# it there with SIGKILL.
kill_at() {
  stop_cli_at "$@"
  kill -KILL "$CLI_PID"
  wait "$CLI_PID" 2>/dev/null || true
}

# wait_for_syscall PID NR [TIMEOUT_S=10]: waits until the thread PID (a tid works too,
# through /proc/PID) is blocked in system call number NR (/proc/PID/syscall).
wait_for_syscall() {
  local pid=$1 nr=$2 end
  _deadline "${3:-10}"
  end=$_DEADLINE
  until [ "$(cut -d' ' -f1 "/proc/$pid/syscall" 2>/dev/null)" = "$nr" ]; do
    _past "$end" && fail "thread $pid is not in syscall $nr: $(cat "/proc/$pid/syscall" 2>&1)"
    nap 0.02
  done
}

# --- assertions --------------------------------------------------------------------

# _any_line_matches REGEX TEXT: some line of TEXT matches (bash ERE, as grep -E).
_any_line_matches() {
  local line
  while IFS= read -r line; do
    [[ $line =~ $1 ]] && return 0
  done <<<"$2"
  return 1
}

assert_eq() {   # assert_eq EXPECTED SEEN WHAT
  [ "$1" = "$2" ] || fail "$3: expected '$1', seen '$2'"
}
assert_match() {   # assert_match REGEX TEXT WHAT
  _any_line_matches "$1" "$2" || fail "$3: expected a line matching /$1/, seen:
$2"
}
assert_no_match() {   # assert_no_match REGEX TEXT WHAT
  ! _any_line_matches "$1" "$2" || fail "$3: expected no line matching /$1/, seen:
$2"
}

# --- target logs -------------------------------------------------------------------

# _new_lines NAME: _LINES = the complete lines after NAME's cursor (no newlines).
_new_lines() {
  mapfile -s "${_CURSOR[$1]}" _LINES <"$WORK/$1.log"
  local n=${#_LINES[@]}
  if [ "$n" -gt 0 ] && [[ ${_LINES[n - 1]} != *$'\n' ]]; then
    unset '_LINES[n - 1]' # still being written
  fi
  _LINES=("${_LINES[@]%$'\n'}")
}

# mark_log NAME: later waits look only at lines printed from now on.
mark_log() {
  _CURSOR[$1]=0
  _new_lines "$1"
  _CURSOR[$1]=${#_LINES[@]}
}

# wait_for_log NAME REGEX [TIMEOUT_S=5]: waits for a new line (after the cursor)
# matching REGEX and moves the cursor past it. Fails early if the target died.
wait_for_log() {
  local name=$1 regex=$2 timeout=${3:-5} end i pid='' dead=0
  [ -f "$WORK/$name.pid" ] && read -r pid <"$WORK/$name.pid"
  _deadline "$timeout"
  end=$_DEADLINE
  while :; do
    _new_lines "$name"
    for i in "${!_LINES[@]}"; do
      if [[ ${_LINES[i]} =~ $regex ]]; then
        _CURSOR[$name]=$((_CURSOR[$name] + i + 1))
        return 0
      fi
    done
    [ "$dead" = 1 ] && fail "$name (pid $pid) exited while waiting for /$regex/"
    _past "$end" && fail "$name: no new line matching /$regex/ within ${timeout}s"
    # Gone? Take one more look: the line may have come just before the end.
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then dead=1; else nap 0.02; fi
  done
}

# expect_output NAME REGEX [N=3] [TIMEOUT_S=5]: the next N new lines ALL match
# REGEX: what the target does now, no stale line let through. Moves the cursor.
expect_output() {
  local name=$1 regex=$2 n=${3:-3} timeout=${4:-5} end i
  _deadline "$timeout"
  end=$_DEADLINE
  while _new_lines "$name"; [ "${#_LINES[@]}" -lt "$n" ]; do
    _past "$end" && fail "$name: expected $n new lines matching /$regex/ within ${timeout}s, got ${#_LINES[@]}"
    nap 0.02
  done
  for ((i = 0; i < n; i++)); do
    [[ ${_LINES[i]} =~ $regex ]] && continue
    fail "$name: expected the next $n lines to match /$regex/, but saw:
$(printf '%s\n' "${_LINES[@]:0:n}")"
  done
  _CURSOR[$name]=$((_CURSOR[$name] + n))
}

# expect_log_lacks NAME REGEX: no line of the whole log matches.
expect_log_lacks() {
  local found
  found=$(grep -E -- "$2" "$WORK/$1.log" | head -n 5 || true)
  [ -z "$found" ] || fail "$1: expected no line matching /$2/, found:
$found"
}

# last_match NAME REGEX: the last line of the log matching REGEX.
last_match() { grep -E -- "$2" "$WORK/$1.log" | tail -n 1 || true; }

# --- ELF facts, to check what the CLI reports ---------------------------------------

# symbol_addr PID FILE SYMBOL: run-time address (0x...) of SYMBOL defined in FILE
# as mapped into PID (adds the load bias for PIE executables and shared objects).
symbol_addr() {
  local pid=$1 file=$2 sym=$3 value type base path
  path=$(realpath "$file")
  value=$(readelf -Ws --wide "$file" | awk -v s="$sym" '{n = $8; sub(/@.*/, "", n)} n == s && $7 != "UND" {print $2; exit}')
  [ -n "$value" ] || fail "symbol $sym not found in $file"
  type=$(readelf -h "$file" | awk '/Type:/ {print $2}')
  if [ "$type" = DYN ]; then
    base=$(awk -v p="$path" '$6 == p && $3 == "00000000" {print $1; exit}' "/proc/$pid/maps")
    [ -n "$base" ] || fail "$path is not mapped in process $pid"
    printf '0x%x\n' $((0x${base%%-*} + 0x$value))
  else
    printf '0x%x\n' $((0x$value))
  fi
}

# read_mem PID ADDR N: N bytes of PID's memory at ADDR, in hex ("f30f1efa...").
read_mem() {
  python3 -c '
import sys
pid, addr, n = int(sys.argv[1]), int(sys.argv[2], 0), int(sys.argv[3])
with open(f"/proc/{pid}/mem", "rb") as mem:
    mem.seek(addr)
    print(mem.read(n).hex())' "$@" || fail "cannot read $3 bytes at $2 in process $1"
}

# A jump as the loader may write it at a function's entry: e9 rel32, or
# ff 25 00000000 + an absolute address.
JUMP_RE='^(e9|ff2500000000)'

# --- apply / revert ----------------------------------------------------------------

# apply_ok PID PATCH ID [ARGS]: apply succeeds and says "applied ID: ...".
apply_ok() {
  local pid=$1 patch=$2 id=$3
  shift 3
  expect_success hp -p "$pid" apply "$patch" "$@"
  assert_match "^applied $id: [0-9]+ functions?, [0-9]+ attempts?, paused [0-9]+ us \([0-9]+ threads?, longest thread [0-9]+\)$" \
    "$LAST_OUT" "apply output"
}

# revert_ok PID ID: revert succeeds and says "reverted ID: ...".
revert_ok() {
  expect_success hp -p "$1" revert "$2"
  assert_match "^reverted $2: [0-9]+ functions?, [0-9]+ attempts?, paused [0-9]+ us \([0-9]+ threads?, longest thread [0-9]+\)$" \
    "$LAST_OUT" "revert output"
}

# patches_listed TEXT: list's text without its "kept mapped: ..." line (reverted
# patches' code stays mapped, docs/cli.md#revert).
patches_listed() { grep -v '^kept mapped: [0-9]* reverted patch cop' <<<"$1" || true; }

# redirect_re OLD ADDR NEW: a regex for list's line for one replaced function,
# "  OLD (ADDR) -> NEW (0x...)", optionally followed by " via ..." (how it jumps).
redirect_re() { echo "^  $1 \\($2\\) -> $3 \\(0x[0-9a-f]+\\)( via [a-z0-9, ]+)?$"; }

# --- several processes (ops_*) ------------------------------------------------------

# build_unique_target OUT SRC [cc flags...]: build_target with NONCE defined as a
# random string, so that OUT's build-id is this case's alone: cases that select
# processes by build-id (-p all) or by program (--exe) never find another case's.
build_unique_target() {
  local out=$1 src=$2
  shift 2
  build_target "$out" "$src" -DNONCE="\"${WORK##*/}-$RANDOM$RANDOM\"" "$@"
}

# build_id_of FILE: its GNU build-id, in hex.
build_id_of() {
  local id
  id=$(readelf -n "$1" | awk '/Build ID:/ {print $3; exit}')
  [ -n "$id" ] || fail "$1 has no build-id"
  echo "$id"
}

# pids_in TEXT: the pids of "process PID: ..." lines, sorted, each once (a process's
# result may take more than one line: notes), on one line.
pids_in() { grep -oE '^process [0-9]+:' <<<"$1" | grep -oE '[0-9]+' | sort -nu | paste -sd' '; }

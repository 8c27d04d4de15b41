# A program that knows nothing of hotpatch gets a control server two ways: with
# LD_PRELOAD=libhotpatch_preload.so, and with `hotpatch -p PID inject` (the Loader).
# gflags, glog, lib and func work on what the process has; any symbol of it can be
# upgraded (compute is not registered), and `hotpatch list` sees the upgrade.
BUILD=$(dirname "$HOTPATCH")
EX=$BUILD/examples
cat >"$WORK/compute_patch.c" <<'C'
int compute(int x) { return x * 100; }
C
build_patch compute_patch.so "$WORK/compute_patch.c"
cat >"$WORK/ptrace_patch.c" <<'C'
#include <hotpatch/patch.h>
int compute_v2(int x) { return x * 1000; }
HOTPATCH_ID("compute-x1000");
HOTPATCH_REPLACE(compute, compute_v2);
C
build_patch ptrace_patch.so "$WORK/ptrace_patch.c"

# borrowed_by PID WHO: a ptrace apply (and revert, which borrows none) of ptrace_patch.so whose remote calls
# ran on WHO (control-thread: the runtime's control server thread; program-thread:
# one of the program's own), every time a thread was borrowed.
borrowed_by() {
  local pid=$1 who=$2 log=$3 cmd steps
  for cmd in "apply ptrace_patch.so" "revert compute-x1000"; do
    # shellcheck disable=SC2086
    steps_of -p "$pid" $cmd
    steps=$STEPS
    # A revert makes no remote call (its code stays mapped: docs/cli.md#revert).
    if [ "$cmd" = "revert compute-x1000" ]; then
      ! grep -qE ':borrowed-' <<<"$steps" || fail "$cmd borrowed a thread: $(grep borrowed <<<"$steps" | tr '\n' ' ')"
    else
      grep -qE ":borrowed-$who\$" <<<"$steps" || fail "$cmd: no thread borrowed as $who; steps: $(grep borrowed <<<"$steps" | tr '\n' ' ')"
    fi
    ! grep -E ':borrowed-' <<<"$steps" | grep -vqE ":borrowed-$who\$" ||
      fail "$cmd: a thread other than the $who was borrowed: $(grep borrowed <<<"$steps" | tr '\n' ' ')"
    [ "$cmd" = "revert compute-x1000" ] || wait_for_log "$log" 'compute\(7\)=7000$'
  done
}

step "LD_PRELOAD"
start_target pre env LD_PRELOAD="$BUILD/libhotpatch_preload.so" "$EX/prebuilt_server" --interval_ms=50
pid=$LAST_PID
wait_for_log pre '^hello compute\(7\)=21$'
expect_success hp -p "$pid" socket
expect_success hp -p "$pid" var list
assert_eq "no variables registered" "$LAST_OUT" "var list"
expect_success hp -p "$pid" gflags set greeting "good day"
wait_for_log pre '^good day compute\(7\)=21$'
expect_success hp -p "$pid" glog set minloglevel 2
expect_success hp -p "$pid" lib load fix "$WORK/compute_patch.so"
expect_success hp -p "$pid" func upgrade fix compute
wait_for_log pre '^good day compute\(7\)=700$'
expect_success hp -p "$pid" list
assert_match "^func:compute +applied .* $WORK/compute_patch.so$" "$LAST_OUT" "list"
expect_success hp -p "$pid" func rollback compute
wait_for_log pre '^good day compute\(7\)=21$'
expect_fail 8 "nothing to roll back" hp -p "$pid" func rollback compute
expect_success hp -p "$pid" lib unload fix
step "LD_PRELOAD: the Loader's remote calls borrow the runtime's control thread"
borrowed_by "$pid" control-thread pre
wait_for_log pre '^good day compute\(7\)=21$'
finish_target pre

step "inject into a running process"
start_target plain "$EX/prebuilt_server" --interval_ms=50
pid=$LAST_PID
wait_for_log plain '^hello compute\(7\)=21$'
expect_fail 9 "runs no hotpatch control server" hp -p "$pid" gflags list
expect_success hp -p "$pid" inject
assert_match "^control server running in process $pid: .*/$pid\.sock \(loaded .*/libhotpatch\.so\.[0-9]+\.[0-9]+\.[0-9]+\)$" "$LAST_OUT" "inject"
expect_success hp -p "$pid" inject
assert_match "^control server running in process $pid: .*/$pid\.sock$" "$LAST_OUT" "second inject"
expect_success hp -p "$pid" gflags get greeting
assert_eq hello "$LAST_OUT" "gflags get greeting"
expect_success hp -p "$pid" gflags set greeting injected
wait_for_log plain '^injected compute\(7\)=21$'
expect_success hp -p "$pid" lib load fix "$WORK/compute_patch.so"
expect_success hp -p "$pid" func upgrade fix compute
wait_for_log plain '^injected compute\(7\)=700$'
expect_success hp -p "$pid" func rollback compute
wait_for_log plain '^injected compute\(7\)=21$'
wait_for_log plain '^injected compute\(7\)=21$'
step "after inject: the Loader's remote calls borrow the control thread"
borrowed_by "$pid" control-thread plain
finish_target plain

step "no control server: the Loader borrows one of the program's threads"
start_target bare "$EX/prebuilt_server" --interval_ms=50
pid=$LAST_PID
wait_for_log bare '^hello compute\(7\)=21$'
borrowed_by "$pid" program-thread bare
finish_target bare

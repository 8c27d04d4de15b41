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
finish_target pre

step "inject into a running process"
start_target plain "$EX/prebuilt_server" --interval_ms=50
pid=$LAST_PID
wait_for_log plain '^hello compute\(7\)=21$'
expect_fail 9 "runs no hotpatch control server" hp -p "$pid" gflags list
expect_success hp -p "$pid" inject
assert_match "^control server running in process $pid: .*/$pid\.sock \(loaded .*libhotpatch\.so\)$" "$LAST_OUT" "inject"
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
finish_target plain

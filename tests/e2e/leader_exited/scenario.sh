# The main thread has left with pthread_exit(): the thread-group leader is a zombie
# but the process is alive and must be patchable like any other.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21$' 3
expect_state "$pid" Z
tasks=(/proc/"$pid"/task/*)
assert_eq 3 "${#tasks[@]}" "threads in /proc/$pid/task (a zombie leader and two workers)"

step "apply"
apply_ok "$pid" patch.so fix-compute
wait_for_log t '^compute\(7\)=70$' 2
expect_output t '^compute\(7\)=70$' 3
expect_success hp -p "$pid" list
assert_match '^fix-compute ' "$LAST_OUT" "list"

step "revert"
revert_ok "$pid" fix-compute
wait_for_log t '^compute\(7\)=21$' 2
expect_output t '^compute\(7\)=21$' 3

for task in /proc/"$pid"/task/*; do
  _tracer "$pid/task/${task##*/}"
  assert_eq 0 "$_TRACER" "TracerPid of thread ${task##*/}"
done
expect_log_lacks t '^BAD'
stop_target t

# A thread in uninterruptible sleep (D: the main thread is a vfork parent whose
# child sleeps 8 s) cannot stop for ptrace. apply must not wait for it with every
# other thread frozen: it exits busy (6) within its --timeout, naming the thread
# and its state; nothing is changed; the worker thread is never held for long.
# Once the vfork is over, the same apply succeeds.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"

start_target t ./target 8
pid=$LAST_PID
wait_for_log t '^vfork for 8 s$'
expect_state "$pid/task/$pid" D 5
mark_log t
expect_output t '^compute\(7\)=21 gap_ms=[0-9]+$' 2

for timeout_ms in 1500 2000; do
  step "apply --timeout $timeout_ms while the main thread $pid is in D"
  mark_log t
  start=${EPOCHREALTIME/./}
  expect_fail 6 "thread $pid" hp -p "$pid" apply patch.so --timeout "$timeout_ms"
  took_ms=$(((${EPOCHREALTIME/./} - start) / 1000))
  note "gave up after $took_ms ms"
  assert_match 'uninterruptible|\(D\)|state D' "$LAST_ERR" "the error names the thread's state"
  [ "$took_ms" -lt $((timeout_ms + 1500)) ] ||
    fail "apply took $took_ms ms, far beyond its --timeout of $timeout_ms ms"
  _proc_state "$pid/task/$pid"
  [ "$_STATE" = D ] || fail "the main thread left D (state $_STATE) before the check was over; the case proves nothing"
  # The worker's lines printed while apply ran: none may show a long hold.
  wait_for_log t '^compute\(7\)=21 gap_ms=[0-9]+$' 2
  _new_lines t
  worst=0
  for line in $(grep -oE 'gap_ms=[0-9]+' t.log | tail -n 40 | cut -d= -f2); do
    [ "$line" -gt "$worst" ] && worst=$line
  done
  note "worker's longest gap around the apply: $worst ms"
  [ "$worst" -lt 1000 ] || fail "the worker thread was held $worst ms while apply ran"
  expect_alive "$pid"
  expect_success hp -p "$pid" list
  assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after the busy apply"
done

step "the vfork ends; the main thread runs on (not left stopped); apply now works"
wait_for_log t '^vfork returned$' 15
apply_ok "$pid" patch.so dstate-fix
mark_log t
wait_for_log t '^compute\(7\)=70 ' 2
revert_ok "$pid" dstate-fix
finish_target t

# Threads blocked in read, epoll_wait, futex, semop, nanosleep and sigtimedwait
# must not see EINTR or an early return because of apply/revert.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"
semid=$(ipcmk -S 1 | grep -oE '[0-9]+$') || fail "ipcmk -S 1 failed"
on_cleanup ipcrm -s "$semid"

calls="read epoll_wait futex semop nanosleep sigtimedwait"
start_target t ./target "$semid"
pid=$LAST_PID
wait_for_log t '^ready pid='
for call in $calls; do
  grep -qx "ready $call" t.log || wait_for_log t "^ready $call$"
done
mark_log t
expect_output t '^(compute\(7\)=21|ok .*)$' 5
sleep 0.3 # every thread is now inside its call

for round in 1 2 3; do
  step "round $round: apply + revert"
  apply_ok "$pid" patch.so fix-compute
  wait_for_log t '^compute\(7\)=70$' 2
  revert_ok "$pid" fix-compute
  wait_for_log t '^compute\(7\)=21$' 2
done

step "let the timed calls (1 s) run out"
mark_log t
wait_for_log t '^ok nanosleep ' 3
wait_for_log t '^ok sigtimedwait ' 3
expect_log_lacks t '^(EINTR|EARLY) '
note "no EINTR, no early return in: $calls"

step "self-test: a real signal must show up as EINTR in every call"
kill -USR1 "$pid"
wait_for_log t '^selftest: ' 2
for call in $calls; do
  grep -qx "EINTR $call" t.log || wait_for_log t "^EINTR $call$" 2
done
expect_log_lacks t '^EARLY '
finish_target t '^BAD'

# A program's only thread sleeps in a timed call (nanosleep, clock_nanosleep, poll,
# ppoll, select, epoll_wait, futex, sem_timedwait, pthread_cond_timedwait): every
# remote call of an apply (the runtime's and the patch's dlopen...) and of a revert
# is made on it. It must see no EINTR and no early return (issue 11, item 2: the
# kernel's rt_sigreturn resets the restart block, so a sleep interrupted with
# -ERESTART_RESTARTBLOCK used to fail with EINTR once per borrowed session).
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"

calls="nanosleep clock_nanosleep poll ppoll select epoll_wait futex sem_timedwait cond_timedwait"
for call in $calls; do
  step "$call: apply + revert on the sleeping thread"
  start_target "$call" ./target "$call"
  pid=$LAST_PID
  wait_for_log "$call" "^ready $call "
  wait_for_log "$call" "^tick $call compute=21$" 3
  apply_ok "$pid" patch.so fix-compute
  wait_for_log "$call" "^tick $call compute=70$" 3
  revert_ok "$pid" fix-compute
  wait_for_log "$call" "^tick $call compute=21$" 3
  wait_for_log "$call" "^tick $call compute=21$" 3  # a whole call after the revert
  expect_log_lacks "$call" '^(EINTR|EARLY) '
  note "$call: no EINTR, no early return"

  # Self-test: a real signal does show (so "no EINTR" above means something).
  # pthread_cond_timedwait shows none: glibc waits again until its deadline.
  if [ "$call" != cond_timedwait ]; then
    mark_log "$call"
    kill -USR1 "$pid"
    wait_for_log "$call" "^(EINTR|EARLY) $call" 3
  fi
  finish_target "$call" '^BAD'
done

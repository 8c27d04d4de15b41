# A thread in a syscall of a user pthread_atfork prepare handler, inside fork():
# glibc (2.36) runs those handlers without fork's own locks (atfork_lock is dropped
# around each call; malloc's and stdio's are taken after them), so such a thread is
# a safe place for remote calls. This case pins that down: the main thread (first
# in thread order, so the one the Loader tries first) sits in the handler's open()
# of a FIFO while a patch is applied on it. (A revert keeps the patch's code mapped
# and makes no remote call, so no dlclose -- which takes atfork_lock -- can hang on
# such a thread: checked below too.)
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"
mkfifo "$WORK/handler.fifo"

start_target t ./target "$WORK/handler.fifo"
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21$' 2

step "the main thread forks and blocks in its prepare handler"
kill -USR1 "$pid"
wait_for_log t '^prepare handler: opening the FIFO$'
wait_for_syscall "$pid" 257   # the handler's openat of the FIFO

for cmd in "apply patch.so"; do
  step "$cmd borrows the thread inside fork() and completes"
  # Stop the CLI right after it picked its thread: the main thread must be the one.
  # shellcheck disable=SC2086
  HOTPATCH_TEST_STOP_AT="${cmd%% *}:borrowed-program-thread" "$HOTPATCH_TEST_CLI" -p "$pid" $cmd >"$WORK/cli.out" 2>"$WORK/cli.err" &
  cli=$!
  expect_state "$cli" T 10
  _tracer "$pid"
  assert_eq "$cli" "$_TRACER" "tracer of the main thread (the one inside fork)"
  kill -CONT "$cli"
  timeout 20 tail --pid="$cli" -f /dev/null || fail "$cmd did not finish within 20 s (deadlock inside fork?)"
  wait "$cli" && rc=0 || rc=$?
  assert_eq 0 "$rc" "$cmd exit code (stderr: $(cat "$WORK/cli.err"))"
done

step "revert fix-compute completes while the thread is inside fork(), borrowing none"
HOTPATCH_TEST_STEPS=list timeout 20 "$HOTPATCH_TEST_CLI" -p "$pid" revert fix-compute >"$WORK/cli.out" 2>"$WORK/cli.err" ||
  fail "revert failed or hung: $(cat "$WORK/cli.err")"
! grep -qE '^hotpatch: step .*:borrowed-' "$WORK/cli.err" || fail "revert borrowed a thread: $(grep borrowed "$WORK/cli.err")"

step "the fork finishes normally"
: >"$WORK/handler.fifo"
wait_for_log t '^forked$' 10
wait_for_log t '^compute\(7\)=21$' 2
finish_target t

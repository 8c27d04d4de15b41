# A process stopped with SIGSTOP (Ctrl-Z) stays stopped through apply, list and
# revert; after SIGCONT it runs the code in place at that point.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21$' 3

# expect_stopped: the process and each of its threads are in group stop ('T'),
# and it prints nothing. A thread we let go is woken by the kernel and goes back
# into the group stop before it returns to the program (runnable, 'R', for that
# moment, which a loaded machine can stretch): its state is waited for, and the log
# proves it ran none of the program's code.
expect_stopped() {
  local task lines
  expect_state "$pid" T 2
  for task in /proc/"$pid"/task/*; do
    expect_state "$pid/task/${task##*/}" T 2
  done
  lines=$(wc -l <t.log)
  sleep 0.2
  assert_eq "$lines" "$(wc -l <t.log)" "lines in the log while stopped ($1)"
}

step "SIGSTOP, then apply"
kill -STOP "$pid"
expect_state "$pid" T
sleep 0.1
run_cmd hp -p "$pid" apply patch.so
if [ "$LAST_RC" -eq 0 ]; then
  sed 's/^/   | /' last.out
  expect_stopped "after apply"
  expect_success hp -p "$pid" list
  assert_match '^fix-stopped ' "$LAST_OUT" "list on the stopped process"
  expect_stopped "after list"
  step "SIGCONT: the new code runs"
  mark_log t
  kill -CONT "$pid"
  wait_for_log t '^compute\(7\)=70$' 2
  expect_output t '^compute\(7\)=70$' 3

  step "SIGSTOP, then revert"
  kill -STOP "$pid"
  expect_state "$pid" T
  revert_ok "$pid" fix-stopped
  expect_stopped "after revert"
  kill -CONT "$pid"
  wait_for_log t '^compute\(7\)=21$' 2
  expect_output t '^compute\(7\)=21$' 3
else
  # Refusing a stopped process is allowed, if it is clean and changes nothing.
  _show_run hp -p "$pid" apply patch.so
  case $LAST_RC in 3 | 6) ;; *) fail "apply on a stopped process: expected success (or a clean exit 3/6), got exit $LAST_RC" ;; esac
  assert_match '^hotpatch: error: ' "$LAST_ERR" "error line"
  note "NOTE: apply refused the stopped process: $LAST_ERR"
  expect_stopped "after the refused apply"
  kill -CONT "$pid"
  mark_log t
  expect_output t '^compute\(7\)=21$' 3
fi

finish_target t

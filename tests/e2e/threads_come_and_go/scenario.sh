# Threads start and exit all the time (thousands per second) while the patch goes in
# and out: a thread that appears or ends in the middle of an apply is not an error.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21 threads=[0-9]+$' 3

for round in $(seq 15); do
  step "round $round: apply + revert"
  apply_ok "$pid" patch.so fix-compute
  wait_for_log t '^compute\(7\)=70 ' 2
  expect_output t '^compute\(7\)=70 ' 2
  revert_ok "$pid" fix-compute
  wait_for_log t '^compute\(7\)=21 ' 2
  expect_output t '^compute\(7\)=21 ' 2
done

threads=$(last_match t '^compute' | sed -E 's/.*threads=([0-9]+)$/\1/')
[ "$threads" -gt 10000 ] || fail "expected many short-lived threads, seen $threads"
note "$threads short-lived threads came and went"
finish_target t

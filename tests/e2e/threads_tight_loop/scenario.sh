# 8 threads hammer compute() while the patch goes in and out 4 times. Every call
# gives the old or the new result, never anything else; after each apply/revert
# every thread shows the new/old behaviour within a second; nothing crashes.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
wait_for_log t '^state O{8} '
expect_output t '^state O{8} ' 3

for round in 1 2 3 4; do
  step "round $round: apply"
  apply_ok "$pid" patch.so fix-compute
  wait_for_log t '^state N{8} ' 1
  expect_output t '^state N{8} ' 2
  step "round $round: revert"
  revert_ok "$pid" fix-compute
  wait_for_log t '^state O{8} ' 1
  expect_output t '^state O{8} ' 2
done

# The threads really ran all along: the call count kept growing.
calls=$(last_match t '^state ' | sed -E 's/.*calls=([0-9]+)$/\1/')
[ "$calls" -gt 100000 ] || fail "expected the threads to have made many calls, seen calls=$calls"
note "$calls calls to compute, no wrong result"
finish_target t

# Threads start and exit all the time (thousands per second) while the patch goes in
# and out: a thread that appears or ends in the middle of an apply is not an error.
# First with up to 16 threads at a time that live a few microseconds each; then
# (issue 5, Life) with up to 1000 threads alive at a time, each living ~0.5 s, so
# that an apply stops about a thousand threads while hundreds are being born and
# dying (thousands per second).
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21 threads=[0-9]+ live=[0-9]+$' 3

for round in $(seq 15); do
  step "round $round: apply + revert"
  apply_ok "$pid" patch.so fix-compute
  wait_for_log t '^compute\(7\)=70 ' 2
  expect_output t '^compute\(7\)=70 ' 2
  revert_ok "$pid" fix-compute
  wait_for_log t '^compute\(7\)=21 ' 2
  expect_output t '^compute\(7\)=21 ' 2
done

threads=$(last_match t '^compute' | sed -E 's/.*threads=([0-9]+) .*/\1/')
[ "$threads" -gt 10000 ] || fail "expected many short-lived threads, seen $threads"
note "$threads short-lived threads came and went"
finish_target t

step "up to 1000 threads alive at a time, each living ~0.5 s"
start_target k ./target 1000 50000
pid=$LAST_PID
wait_for_log k '^ready'
wait_for_log k '^compute\(7\)=21 threads=[0-9]+ live=(9[0-9][0-9]|1000)$' 20
for round in $(seq 5); do
  step "1000 threads, round $round: apply + revert"
  # Stopping 1000 threads on this machine takes tens of ms; keep --timeout generous.
  apply_ok "$pid" patch.so fix-compute --timeout 20000
  [[ $LAST_OUT =~ \(([0-9]+)\ threads[,\)] ]] && stopped=${BASH_REMATCH[1]}
  # (On a loaded machine thread creation lags behind and fewer are alive.)
  [ "$stopped" -ge 500 ] || fail "apply stopped $stopped threads; expected up to 1000"
  note "apply stopped $stopped threads"
  wait_for_log k '^compute\(7\)=70 ' 5
  revert_ok "$pid" fix-compute --timeout 20000
  wait_for_log k '^compute\(7\)=21 ' 5
done
# The churn went on through the rounds (how many threads that is depends on how long
# the rounds took: wait for the count, not for the clock).
wait_for_log k 'threads=(300[1-9]|30[1-9][0-9]|3[1-9][0-9]{2}|[4-9][0-9]{3}|[0-9]{5,}) ' 15
note "last report: $(last_match k '^compute')"
finish_target k

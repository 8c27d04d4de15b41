# A stream of SIGUSR1 (one in flight at a time, each acknowledged) runs while the
# patch goes in and out: the target's handler must count every one of them.
build_target target "$CASE_DIR/target.c"
build_target sender "$CASE_DIR/sender.c"
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21 count=0$' 2
start_target sender ./sender "$pid" "$WORK/stop-sending"
wait_for_log sender '^started$'
wait_for_log t '^compute\(7\)=21 count=[1-9][0-9]*$' 2

for round in 1 2 3 4; do
  step "round $round: apply + revert while signals arrive"
  apply_ok "$pid" patch.so fix-compute
  wait_for_log t '^compute\(7\)=70 ' 2
  revert_ok "$pid" fix-compute
  wait_for_log t '^compute\(7\)=21 ' 2
done

step "stop the sender and compare counts"
touch stop-sending
wait_for_log sender '^sent [0-9]+ acked [0-9]+$' 15
read -r sent acked < <(sed -nE 's/^sent ([0-9]+) acked ([0-9]+)$/\1 \2/p' sender.log)
note "the sender sent $sent signals, $acked were acknowledged"
[ "$sent" -ge 200 ] || fail "expected the sender to send many signals during the rounds, it sent $sent"
expect_log_lacks sender '^TIMEOUT'
assert_eq "$sent" "$acked" "acknowledged signals"
wait_for_log t "^compute\(7\)=21 count=$sent$" 2
finish_target t

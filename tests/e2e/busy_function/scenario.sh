# A thread sits inside hold(): apply must give up after --timeout with exit 6,
# naming the thread and the function, and change nothing. An apply that is still
# retrying when the thread leaves hold() succeeds.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^sleeper tid=[0-9]+ entering hold$'
tid=$(sed -nE 's/^sleeper tid=([0-9]+) entering hold$/\1/p' t.log)
mark_log t
expect_output t '^compute\(7\)=21$' 3
sleep 0.2

step "apply --timeout 500 while thread $tid is inside hold()"
start=${EPOCHREALTIME/./}
expect_fail 6 'hold' hp -p "$pid" apply patch.so --timeout 500
took_ms=$(((${EPOCHREALTIME/./} - start) / 1000))
assert_match "(^|[^0-9])$tid([^0-9]|$)" "$LAST_ERR" "the error names thread $tid"
note "gave up after $took_ms ms"
[ "$took_ms" -ge 450 ] || fail "apply gave up after $took_ms ms, before its --timeout of 500 ms"
[ "$took_ms" -lt 5000 ] || fail "apply took $took_ms ms, far beyond its --timeout of 500 ms"

step "nothing changed"
expect_alive "$pid"
mark_log t
expect_output t '^compute\(7\)=21$' 5
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after the busy apply"
expect_log_lacks t '^(sleeper left|hold=)'

step "apply retries while the thread is busy, and succeeds once it has left"
hp -p "$pid" apply patch.so --timeout 15000 >apply.out 2>apply.err &
apply_pid=$!
sleep 1
kill -0 "$apply_pid" 2>/dev/null || {
  wait "$apply_pid" && rc=0 || rc=$?
  fail "apply with the thread still in hold() should keep retrying, it ended with exit $rc: $(cat apply.out apply.err)"
}
kill -USR1 "$pid" # lets the sleeper leave hold()
wait "$apply_pid" && rc=0 || rc=$?
[ "$rc" -eq 0 ] || fail "apply after the thread left hold(): expected exit 0, got $rc: $(cat apply.err)"
sed 's/^/   | /' apply.out
assert_match '^applied busy-fix: 2 functions, [0-9]+ attempts?, ' "$(cat apply.out)" "apply output"
wait_for_log t '^sleeper left hold \(returned 1\)$' 2
wait_for_log t '^hold=2$' 2
mark_log t
expect_output t '^(compute\(7\)=70|hold=2)$' 6

step "revert"
revert_ok "$pid" busy-fix
wait_for_log t '^hold=1$' 2
mark_log t
expect_output t '^(compute\(7\)=21|hold=1)$' 6

finish_target t

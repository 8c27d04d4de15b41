# Two patches on one function: the newest wins; only the top one may be reverted;
# reverting the top brings the one below back, then the original.
build_target target "$CASE_DIR/target.c"
build_patch patch1.so "$CASE_DIR/patch1.c"
build_patch patch2.so "$CASE_DIR/patch2.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21$' 3

step "apply p1, then p2 on top"
apply_ok "$pid" patch1.so p1
wait_for_log t '^compute\(7\)=70$' 2
expect_output t '^compute\(7\)=70$' 3
apply_ok "$pid" patch2.so p2
wait_for_log t '^compute\(7\)=700$' 2
expect_output t '^compute\(7\)=700$' 3

step "list: oldest first"
expect_success hp -p "$pid" list
assert_eq "p1 p2" "$(grep -oE '^p[12] ' <<<"$LAST_OUT" | tr -d ' ' | paste -sd' ')" "patch order in list"
assert_match '^  compute \(0x[0-9a-f]+\) -> compute_p2 ' "$LAST_OUT" "p2's redirect"

step "revert p1 (p2 sits on it): refused"
expect_fail 7 'p1' hp -p "$pid" revert p1
expect_output t '^compute\(7\)=700$' 3
expect_success hp -p "$pid" list
assert_match '^p1 ' "$LAST_OUT" "p1 still listed"
assert_match '^p2 ' "$LAST_OUT" "p2 still listed"

step "revert p2: p1 is back"
revert_ok "$pid" p2
wait_for_log t '^compute\(7\)=70$' 2
expect_output t '^compute\(7\)=70$' 3

step "revert p1: the original is back"
revert_ok "$pid" p1
wait_for_log t '^compute\(7\)=21$' 2
expect_output t '^compute\(7\)=21$' 3
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list at the end"

step "apply p2 alone, then p1 on top of it"
apply_ok "$pid" patch2.so p2
wait_for_log t '^compute\(7\)=700$' 2
apply_ok "$pid" patch1.so p1
wait_for_log t '^compute\(7\)=70$' 2
expect_output t '^compute\(7\)=70$' 3
expect_fail 7 'p2' hp -p "$pid" revert p2
revert_ok "$pid" p1
wait_for_log t '^compute\(7\)=700$' 2
revert_ok "$pid" p2
wait_for_log t '^compute\(7\)=21$' 2
expect_output t '^compute\(7\)=21$' 3

finish_target t

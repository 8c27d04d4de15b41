# A non-PIE (ET_EXEC) executable: symbols are at their link-time addresses.
# basic_pie's target and patch, built without PIE.
build_target target "$CASE_DIR/../basic_pie/target.c" -fno-pie -no-pie
build_patch patch.so "$CASE_DIR/../basic_pie/patch.c"
assert_match 'Type: +EXEC' "$(readelf -h target)" "target is not PIE"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21$' 3

step "apply"
apply_ok "$pid" patch.so fix-compute
wait_for_log t '^compute\(7\)=70$' 2
expect_output t '^compute\(7\)=70$' 5

step "list"
expect_success hp -p "$pid" list
addr=$(symbol_addr "$pid" target compute)
assert_match "^fix-compute +applied .* $WORK/patch.so$" "$LAST_OUT" "list header line"
assert_match "$(redirect_re compute "$addr" compute_v2)" "$LAST_OUT" "list: redirect line"

step "revert"
revert_ok "$pid" fix-compute
wait_for_log t '^compute\(7\)=21$' 2
expect_output t '^compute\(7\)=21$' 5
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after revert"

finish_target t

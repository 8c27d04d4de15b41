# A `static` function: not in .dynsym, found through .symtab (STB_LOCAL).
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"
assert_match ' LOCAL +DEFAULT +[0-9]+ price_of$' "$(readelf -Ws --wide target)" "price_of is a local symbol"
assert_no_match 'price_of' "$(readelf --dyn-syms --wide target)" "price_of is not exported"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^price_of\(7\)=21$' 3

step "apply"
apply_ok "$pid" patch.so fix-static
wait_for_log t '^price_of\(7\)=70$' 2
expect_output t '^price_of\(7\)=70$' 5
expect_success hp -p "$pid" list
addr=$(symbol_addr "$pid" target price_of)
assert_match "$(redirect_re price_of "$addr" price_of_v2)" "$LAST_OUT" "list: redirect line"

step "revert"
revert_ok "$pid" fix-static
wait_for_log t '^price_of\(7\)=21$' 2
expect_output t '^price_of\(7\)=21$' 5

finish_target t

# Replace a libc function the target calls: rand (FUNC, not IFUNC, 14 bytes).
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"
libc=$(ldd target | awk '/libc.so.6/ {print $3}')
assert_match ' FUNC +GLOBAL +DEFAULT +[0-9]+ rand@@' "$(readelf -Ws --wide "$libc")" "rand is a plain FUNC in $libc"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
orig=$(sed -nE 's/^ready pid=[0-9]+ original=([0-9]+)$/\1/p' t.log)
[ -n "$orig" ] && [ "$orig" != 4 ] || fail "unexpected original rand() value '$orig'"
expect_output t "^rand\(\)=$orig$" 3

step "apply"
apply_ok "$pid" patch.so fair-dice
wait_for_log t '^rand\(\)=4$' 2
expect_output t '^rand\(\)=4$' 5
expect_success hp -p "$pid" list
libc_path=$(awk '/libc.so.6$/ {print $6; exit}' "/proc/$pid/maps")
addr=$(symbol_addr "$pid" "$libc_path" rand)
assert_match "$(redirect_re rand "$addr" rand_v2)" "$LAST_OUT" "list: redirect line (address inside libc)"

step "revert"
revert_ok "$pid" fair-dice
wait_for_log t "^rand\(\)=$orig$" 2
expect_output t "^rand\(\)=$orig$" 5

finish_target t

# hotpatch create on a changed C++ constructor: GCC emits the complete- and
# base-object constructors (C1, C2) as two names of one body, and the program has
# both at one address. The patch replaces that function once (two records for one
# address are refused at apply), and every caller sees the fix: main's `new
# Counter(3)` and make_value()'s local object (inlined or not).
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"
c1=$(readelf -sW src/app | awk '$8 == "_ZN7CounterC1Ei" { print $2 }')
c2=$(readelf -sW src/app | awk '$8 == "_ZN7CounterC2Ei" { print $2 }')
[ -n "$c1" ] && [ "$c1" = "$c2" ] || fail "the compiler did not make C1 and C2 one function ($c1, $c2): the case tests nothing"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so
assert_eq 1 "$(grep -cE '^changed: _ZN7CounterC[12]Ei ' <<<"$LAST_OUT")" "one replacement of the constructor"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^v=2 k=4$'
step "apply"
apply_ok "$pid" fix.so fix
wait_for_log t '^v=11 k=13$' 2
expect_output t '^v=11 k=13$' 3
step "revert"
revert_ok "$pid" fix
wait_for_log t '^v=2 k=4$' 2
finish_target t '^BAD'

# One patch, many files: the fix defines a new function and a new initialised
# global in util.c and uses both from compute() in calc.c. Both are linked inside
# the patch (the program has neither), the global starts at its initial value.
# A fix that adds a constructor is refused, naming it, never made without it.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id cross
assert_match '^changed: compute \(calc\.c\)$' "$LAST_OUT" "report: the changed function"
assert_match '^new function: add_bonus \(util\.c\)$' "$LAST_OUT" "report: the new function of the other file"
assert_match '^carried data: bonus \(util\.c\)$' "$LAST_OUT" "report: the new global of the other file"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^compute\(7\)=21 version=1$'

step "apply"
apply_ok "$pid" fix.so cross
wait_for_log t '^compute\(7\)=10[0-9][0-9] version=1$' 2
mark_log t
wait_for_log t '^compute\(7\)=1[0-9]{3} version=1$' 2
first=$(grep -E '^compute\(7\)=1[0-9]{3} ' "$WORK/t.log" | head -n 1 | sed -E 's/compute\(7\)=([0-9]+).*/\1/')
last=$(last_match t '^compute\(7\)=1[0-9]{3} ' | sed -E 's/compute\(7\)=([0-9]+).*/\1/')
# 21 + bonus, bonus counting up from its initial value 1000 at every call.
[ "$first" -ge 1022 ] && [ "$first" -le 1040 ] || fail "first patched result $first: the new global did not start at 1000"
[ "$last" -gt "$first" ] || fail "the new global does not count: $first then $last"

step "revert"
revert_ok "$pid" cross
wait_for_log t '^compute\(7\)=21 version=1$' 2
finish_target t '^BAD'

step "a new constructor is refused, named, with the reason"
expect_fail 5 'cannot make a live patch' hp create --src src --diff "$CASE_DIR/ctor.diff" --binary app -o ctor.so
assert_match '^refused: init_ready \(util\.c\): a new constructor' "$LAST_OUT" "the reason names the constructor"
[ ! -e ctor.so ] || fail "a refused patch was written"

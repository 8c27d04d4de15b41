# The fix makes compute() call an inline function with a static counter that
# another file of the program already instantiated. The static is one object in
# the program (a unique symbol): the patched compute() must count with the
# program's counter, not with a second copy of its own starting over at 0.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id shared-static
assert_match '^changed: _Z7computei \(calc\.cpp\)$' "$LAST_OUT" "report: the changed function"
assert_no_match '^carried data: .*next_id' "$LAST_OUT" "the inline function's static is the program's, not carried"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^a=[0-9]+ c=21 old$'

step "apply"
apply_ok "$pid" fix.so shared-static
wait_for_log t ' shared$' 2
expect_output t ' shared$' 3

step "revert"
revert_ok "$pid" shared-static
wait_for_log t ' old$' 2
finish_target t 'BAD'

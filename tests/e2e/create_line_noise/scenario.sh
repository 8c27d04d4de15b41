# A diff that adds a line moves __LINE__ in every assert below it: those functions
# differ only in that number and are left alone (reported), the real change is made.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so
assert_match '^changed: compute \(calc\.c\)$' "$LAST_OUT" "the real change"
assert_match '^unchanged \(only a __LINE__ moved\): checked \(calc\.c\)$' "$LAST_OUT" "the moved assert line"
assert_no_match '^changed: checked' "$LAST_OUT" "checked is not patched"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^compute\(7\)=21 checked\(7\)=8$'
apply_ok "$pid" fix.so fix
wait_for_log t '^compute\(7\)=1021 checked\(7\)=8$' 2
revert_ok "$pid" fix
wait_for_log t '^compute\(7\)=21 checked\(7\)=8$' 2
finish_target t '^BAD'

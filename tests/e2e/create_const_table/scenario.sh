# A changed read-only table is carried in the patch, and every function that reads
# it is switched to the new copy: the one in the table's own file and the one in
# other.c, a file the fix does not touch.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id rates
assert_match '^changed: rate_a \(table\.c\), reads the changed constant .rates.$' "$LAST_OUT" "report: the reader in table.c"
assert_match '^changed: rate_b \(other\.c\), reads the changed constant .rates.$' "$LAST_OUT" "report: the reader in other.c"
assert_match '^carried data: rates \(table\.c\)$' "$LAST_OUT" "report: the table"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^a=4 b=40$'
apply_ok "$pid" fix.so rates
wait_for_log t '^a=40 b=400$' 2
revert_ok "$pid" rates
wait_for_log t '^a=4 b=40$' 2
finish_target t '^BAD'

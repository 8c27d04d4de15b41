# A fix to a function that GCC compiles to a jump table: the table's entries are
# `.Lcase - table`, relocations against the function's own section whose addends
# (the case's offset plus the entry's place in the table) run past the function's
# end. The table is carried with the copy and every entry reaches the copy's case
# (all 12 cases run through the table each round: their sum checks them).
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id jump-table
assert_match '^changed: dispatch \(dispatch\.c\)$' "$LAST_OUT" "report: the changed function"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^dispatch\(3,7\)=2 dispatch\(11,7\)=-8 sum=294$'

step "apply"
apply_ok "$pid" fix.so jump-table
# case 3 is now 7 ^ 6 = 1; every other case as before.
wait_for_log t '^dispatch\(3,7\)=1 dispatch\(11,7\)=-8 sum=293$' 2
expect_output t '^dispatch\(3,7\)=1 dispatch\(11,7\)=-8 sum=293$' 3

step "revert"
revert_ok "$pid" jump-table
wait_for_log t '^dispatch\(3,7\)=2 dispatch\(11,7\)=-8 sum=294$' 2
finish_target t

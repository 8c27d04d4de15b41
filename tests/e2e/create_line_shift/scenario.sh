# __LINE__ noise is told from a real change by the line table: the fix adds an
# #include (every line below moves by one) and changes `x > 15` into `x > 16`. The
# compiled code differs only in that immediate, 15 -> 16, which is also what a
# __LINE__ on line 15 would have become; but the line it comes from is one the
# diff changes, so over() is a real change and ships.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id shift
assert_match '^changed: over \(calc\.c\)$' "$LAST_OUT" "report: over() changed"
assert_no_match '^unchanged \(only a __LINE__ moved\): over' "$LAST_OUT" "over() is not line noise"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^over\(16\)=1$'
apply_ok "$pid" fix.so shift
wait_for_log t '^over\(16\)=0$' 2
revert_ok "$pid" shift
wait_for_log t '^over\(16\)=1$' 2
finish_target t '^BAD'

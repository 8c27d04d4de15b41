# table_set() ends in a tail jump to the file-local new_key(), which the program's
# build (one .text) encodes short and create's rebuild (one section per function)
# long; the alignment padding after it differs in length too (as in Lua's luaH_set
# in redis). Run-pre compares the two instruction by instruction with the padding
# left out: the original matches, the fix is made and goes live.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"
objdump -d src/app | grep -Eq 'eb [0-9a-f]{2}[[:space:]]+jmp[[:space:]]+[0-9a-f]+ <new_key>' || fail "the program's tail jump to new_key is not short"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id padding
assert_match '^changed: table_set \(table\.c\)$' "$LAST_OUT" "report: the changed function"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^set new flags=0$'

step "apply"
apply_ok "$pid" fix.so padding
wait_for_log t '^set new flags=1$' 2
expect_output t '^set new flags=1$' 2

step "revert"
revert_ok "$pid" padding
wait_for_log t '^set new flags=0$' 2
finish_target t '^BAD'

# A string literal the program already has is used where the program has it, not
# copied into the patch: the patched enter() stores the literal's address in a
# global at every call, the original only at the first, so that pointer outlives
# the patch. After the revert unloads the patch the program must still read a
# valid string (with the literal copied into the patch it read unmapped memory and
# died with SIGSEGV one loop after the revert; tests/real found it in nginx's
# `c->log->action = "..."`).
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id literal
assert_match '^changed: enter \(state\.c\)$' "$LAST_OUT" "report: the changed function"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^in the loop 11 entered=[0-9]+$'
apply_ok "$pid" fix.so literal
nap 0.3
revert_ok "$pid" literal
mark_log t
wait_for_log t '^in the loop 11 entered=[0-9]+$' 2
wait_for_log t '^in the loop 11 entered=[0-9]+$' 2
finish_target t '^BAD'

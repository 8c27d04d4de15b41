# KNOWN FAILURE on main (F2 in docs/real-world.md, seen on nginx: CVE-2026-27651's revert
# crashes a worker). The patched function stores a pointer to a string literal in data
# that outlives the call (nginx: c->log->action = "..."). The literal is one the program
# already has: the patch must point to the program's copy, not carry its own, so that
# after the revert (which unloads the patch) the stored pointer is still readable.
# revert_literal_new runs this with another fix (PATCHED: what the stored pointer reads
# after the patched enter() ran, PATCHED_STEP: how much it added).
patched=${PATCHED:-in the loop len=11} patched_step=${PATCHED_STEP:-2}
cp -r "$CASE_DIR/../revert_literal_kept/project" src
(cd src && make -s) || fail "building the project failed"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id fix-enter
assert_match '^changed: enter \(state\.c\)$' "$LAST_OUT" "the changed function"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^action=in the loop len=11 step=0$'
expect_success hp -p "$pid" apply fix.so
assert_match "^applied fix-enter: 1 function" "$LAST_OUT" "apply output"
kill -USR1 "$pid"  # the patched enter() runs once and stores its pointer
wait_for_log t "^action=$patched step=$patched_step\$" 2
expect_success hp -p "$pid" revert fix-enter
assert_match "^reverted fix-enter: 1 function" "$LAST_OUT" "revert output"
expect_survives "$pid" 0.3 "the revert"
mark_log t
# The program reads the pointer the patched enter() stored, after the patch is gone.
expect_output t "^action=$patched step=0\$" 5 3
expect_alive "$pid"
kill -USR1 "$pid"
wait_for_log t '^action=in the loop len=11 step=1$' 2
expect_alive "$pid"

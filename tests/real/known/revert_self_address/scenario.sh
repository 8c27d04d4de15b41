# KNOWN FAILURE on main (F3 in docs/real-world.md). A replaced function stores its own
# address (nginx handlers re-arm themselves: c->read->handler = fn). Inside the patch that
# reference must resolve to the program's function (its entry jumps to the newest code),
# not to the patch's copy: else the stored pointer bypasses a later patch of the function
# and dangles after the revert.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id fix-ev
assert_match '^changed: on_event \(ev\.c\)$' "$LAST_OUT" "the changed function"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^step=1 stored=on_event$'
expect_success hp -p "$pid" apply fix.so
assert_match "^applied fix-ev: 1 function" "$LAST_OUT" "apply output"
wait_for_log t '^step=2 ' 2
expect_output t '^step=2 stored=on_event$' 3 2
expect_success hp -p "$pid" revert fix-ev
assert_match "^reverted fix-ev: 1 function" "$LAST_OUT" "revert output"
expect_survives "$pid" 0.3 "the revert"
wait_for_log t '^step=1 ' 3
expect_output t '^step=1 stored=on_event$' 5 3
expect_alive "$pid"

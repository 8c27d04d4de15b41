# KNOWN FAILURE on main (F2 in docs/real-world.md; the Loader's half of it). The patched
# function stores a pointer to a string literal only the fix has (nginx: a fix that
# changes a c->log->action text, or stores the address of a function it adds as an event
# handler). The patch must carry that literal; after the revert the program still holds
# the pointer (until the original code overwrites it), so the revert must not unmap the
# patch's data (kpatch and Linux livepatch keep a reverted patch's module loaded too).
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id fix-enter
assert_match '^changed: enter \(state\.c\)$' "$LAST_OUT" "the changed function"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^action=in the loop len=11 step=0$'
expect_success hp -p "$pid" apply fix.so
assert_match "^applied fix-enter: 1 function" "$LAST_OUT" "apply output"
kill -USR1 "$pid"  # the patched enter() runs once and stores its pointer
wait_for_log t '^action=in the fixed loop len=17 step=1$' 2
expect_success hp -p "$pid" revert fix-enter
assert_match "^reverted fix-enter: 1 function" "$LAST_OUT" "revert output"
nap 0.3
if ! kill -0 "$pid" 2>/dev/null; then
  rc=0; wait "$pid" || rc=$?  # the target is this shell's child
  fail "the target died after the revert (exit status $rc$( [ $rc = 139 ] && echo ', SIGSEGV'))"
fi
mark_log t
# The program reads the pointer the patched enter() stored, after the patch is gone.
expect_output t '^action=in the fixed loop len=17 step=0$' 5 3
expect_alive "$pid"
kill -USR1 "$pid"
wait_for_log t '^action=in the loop len=11 step=1$' 2
expect_alive "$pid"

# Inside a patch, the address of a function the patch replaces is the program's
# function (whose entry jumps to the newest code), never the patch's copy: the
# patched on_event() stores its own address as the next handler. With the copy's
# address stored, the program called the copy directly (a later patch of on_event
# would be bypassed) and, after the revert unloaded the patch, jumped into
# unmapped memory (SIGSEGV).
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id handler
assert_match '^changed: on_event \(ev\.c\)$' "$LAST_OUT" "report: the changed function"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^steps=[0-9]+$'

step "apply"
apply_ok "$pid" fix.so handler
nap 0.3
mark_log t
wait_for_log t '^steps=[0-9]+$' 2
two=$(grep -E '^steps=' "$WORK/t.log" | tail -n 2)
a=$(head -n 1 <<<"$two" | sed -E 's/steps=([0-9]+).*/\1/')
b=$(tail -n 1 <<<"$two" | sed -E 's/steps=([0-9]+).*/\1/')
[ $((b - a)) -eq 2 ] || fail "the patched code does not run: steps $a then $b"

step "revert"
revert_ok "$pid" handler
mark_log t
wait_for_log t '^steps=[0-9]+$' 2
wait_for_log t '^steps=[0-9]+$' 2
two=$(grep -E '^steps=' "$WORK/t.log" | tail -n 2)
a=$(head -n 1 <<<"$two" | sed -E 's/steps=([0-9]+).*/\1/')
b=$(tail -n 1 <<<"$two" | sed -E 's/steps=([0-9]+).*/\1/')
[ $((b - a)) -eq 1 ] || fail "the original code does not run after the revert: steps $a then $b"
finish_target t '^BAD'

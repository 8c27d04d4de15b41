# Function-local statics are tied to the function that uses them, not to GCC's
# number suffix. GCC numbers them from the last definition in the file, so the fix
# (which adds spare() with its own `static int n`) renumbers hundreds()'s n.0 to
# n.1, the number ticks()'s counter had before. The patched hundreds() must keep
# counting on its OWN live counter.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"
nm src/calc.o | grep -q ' n\.1$' || fail "the compiler numbered the statics differently; the case relies on n.0 and n.1"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id statics
assert_match '^changed: hundreds \(calc\.c\)$' "$LAST_OUT" "report: the changed function"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^ticks=[0-9]+ hundreds=[0-9]+00$'

step "apply"
apply_ok "$pid" fix.so statics
before=$(last_match t '^ticks=')
nap 0.3
mark_log t
wait_for_log t '^ticks=' 2
wait_for_log t '^ticks=' 2
two=$(grep -E '^ticks=' "$WORK/t.log" | tail -n 2)
prev=$(head -n 1 <<<"$two")
after=$(tail -n 1 <<<"$two")
note "before: $before; then: $prev; $after"
num() { sed -E "s/.*$1=([0-9]+).*/\1/" <<<"$2"; }
# hundreds() continues from its own value in steps of 1000 (so it stays a multiple
# of 100); ticks() keeps counting by one, undisturbed.
[ $(($(num hundreds "$after") - $(num hundreds "$prev"))) -eq 1000 ] ||
  fail "the patched hundreds() does not add 1000: $prev, then $after"
[ $(($(num hundreds "$after") % 100)) -eq 0 ] && [ "$(num hundreds "$after")" -gt "$(num hundreds "$before")" ] ||
  fail "hundreds() did not continue its own counter: $before before, $after after"
[ $(($(num ticks "$after") - $(num ticks "$prev"))) -eq 1 ] ||
  fail "ticks() was disturbed: $prev, then $after"

step "revert"
revert_ok "$pid" statics
wait_for_log t '^ticks=[0-9]+ hundreds=[0-9]+00$' 2
finish_target t '^BAD'

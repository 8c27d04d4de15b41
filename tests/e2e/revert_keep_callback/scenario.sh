# The patch stores the address of a function only it has as the program's callback
# (nginx: ev->handler = new_fn). After the revert the program still calls it through
# that pointer: the revert must leave the patch's code mapped (a Loader that unloads
# it makes the target jump into unmapped memory: SIGSEGV). Applying the same patch
# again after the revert loads a fresh copy (its static data starts anew), not the
# kept one.
build_target target "$CASE_DIR/target.c" -rdynamic
build_patch patch.so "$CASE_DIR/patch.c"

patch_mappings() { grep -cE " ($WORK/patch\.so|/memfd:hotpatch:fix-arm \(deleted\))$" "/proc/$1/maps" || true; }

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^handler=default$' 3

step "apply; the patched arm() stores the patch's own handler"
apply_ok "$pid" patch.so fix-arm
kill -USR1 "$pid"
wait_for_log t '^handler=fixed calls=1$' 2
expect_output t '^handler=fixed calls=[0-9]+$' 3
first=$(patch_mappings "$pid")
[ "$first" -gt 0 ] || fail "the applied patch is not mapped"

step "revert: the stored handler still runs, from the kept mapping"
revert_ok "$pid" fix-arm
expect_survives "$pid" 0.2 "the revert"
mark_log t
expect_output t '^handler=fixed calls=[0-9]+$' 5
assert_eq "$first" "$(patch_mappings "$pid")" "patch mappings after the revert (kept)"

step "the original arm() runs again"
kill -USR1 "$pid"
wait_for_log t '^handler=default$' 2
expect_output t '^handler=default$' 3

step "apply again: a fresh copy, its data starts anew"
apply_ok "$pid" patch.so fix-arm
kill -USR1 "$pid"
wait_for_log t '^handler=fixed calls=1$' 2
expect_output t '^handler=fixed calls=[0-9]+$' 3
second=$(patch_mappings "$pid")
[ "$second" -gt "$first" ] || fail "the second apply mapped no new copy ($second mappings, $first before)"

step "revert again: both copies stay, the newest handler still runs"
revert_ok "$pid" fix-arm
expect_survives "$pid" 0.2 "the revert"
mark_log t
expect_output t '^handler=fixed calls=[0-9]+$' 5
assert_eq "$second" "$(patch_mappings "$pid")" "patch mappings after the second revert"
kill -USR1 "$pid"
wait_for_log t '^handler=default$' 2
expect_output t '^handler=default$' 3
finish_target t

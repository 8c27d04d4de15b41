# HOTPATCH_REF to a `static int counter`: the patch updates the target's own
# variable, so the count goes on from where it was, and the target sees it.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"
assert_match ' OBJECT +LOCAL +DEFAULT +[0-9]+ counter$' "$(readelf -Ws --wide target)" "counter is a static variable"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
wait_for_log t '^tick=[0-9]+ step=1$'
expect_output t '^tick=[0-9]+ step=1$' 5

step "apply"
apply_ok "$pid" patch.so tick-by-1000
wait_for_log t '^tick=[0-9]+ step=1000$' 2
expect_output t '^tick=[0-9]+ step=1000$' 5
# Continuity: the first patched tick is the last original one + 1000 (the target
# checks each step too). A patch counting in its own copy would restart at 1000.
read -r before first < <(awk -F'[= ]' '/^tick=/ { if ($4 == 1000) { print prev, $2; exit } prev = $2 }' t.log)
[ "$before" -gt 1 ] || fail "expected some original ticks before the patch, saw '$before'"
[ "$first" -eq $((before + 1000)) ] || fail "first patched tick: expected $((before + 1000)) (last original $before + 1000), seen $first"
note "the original count reached $before, the patch went on with $first"

step "revert"
revert_ok "$pid" tick-by-1000
wait_for_log t '^tick=[0-9]+ step=1$' 2
expect_output t '^tick=[0-9]+ step=1$' 5
# The original tick goes on from the patched value: nothing ever stepped back.
last=$(last_match t '^tick=' | sed -E 's/^tick=([0-9]+).*/\1/')
[ "$last" -gt $((first + 1000)) ] || fail "after revert the count should continue above $first, seen $last"

finish_target t

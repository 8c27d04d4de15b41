# A patched function stores a pointer to a string literal only the patch has in a
# global that outlives the call (nginx: c->log->action = "..."). Revert must leave
# the patch's mapping in place: the program reads that pointer after the revert
# (until the original code stores its own literal again). On a Loader that unloads
# at revert, the target dies with SIGSEGV right after it. A failed apply still
# unloads what it loaded: nothing of it was ever live.
build_target target "$CASE_DIR/target.c" -rdynamic
build_patch patch.so "$CASE_DIR/patch.c"
build_patch refused.so "$CASE_DIR/refused.c"

# patch_mappings PID: how many mappings hold patch code (by file or fresh memfd copy).
patch_mappings() { grep -cE " ($WORK/(patch|refused)\.so|/memfd:hotpatch:[a-z-]+ \(deleted\))$" "/proc/$1/maps" || true; }

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^action=in the loop len=11 entered=1$' 3

step "apply; the patched enter() stores the patch's literal"
apply_ok "$pid" patch.so fix-enter
kill -USR1 "$pid"
wait_for_log t '^action=in the fixed loop len=17 entered=2$' 2
expect_output t '^action=in the fixed loop len=17 entered=2$' 3
mapped=$(patch_mappings "$pid")
[ "$mapped" -gt 0 ] || fail "the applied patch is not mapped: $(cat "/proc/$pid/maps")"

step "revert: the program still reads the literal, the patch stays mapped"
revert_ok "$pid" fix-enter
expect_survives "$pid" 0.2 "the revert"
mark_log t
expect_output t '^action=in the fixed loop len=17 entered=2$' 5
assert_eq "$mapped" "$(patch_mappings "$pid")" "patch mappings after the revert (kept)"
expect_success hp -p "$pid" list
assert_match '^no patches applied' "$LAST_OUT" "list after the revert"

step "the original enter() runs again"
kill -USR1 "$pid"
wait_for_log t '^action=in the loop len=11 entered=3$' 2
expect_output t '^action=in the loop len=11 entered=3$' 3

step "a failed apply (pre-apply refuses) leaves no mapping behind"
expect_fail 8 "refused by its pre-apply callback refuse \(returned 3\)" hp -p "$pid" apply refused.so
assert_eq "$mapped" "$(patch_mappings "$pid")" "patch mappings after the refused apply"
grep -q " $WORK/refused.so$" "/proc/$pid/maps" && fail "the refused patch is still mapped"
expect_output t '^action=in the loop len=11 entered=3$' 3

step "near vm.max_map_count, apply refuses: the program keeps room for its own mmaps"
kill -USR2 "$pid"
wait_for_log t '^crowded maps=[0-9]+ limit=[0-9]+ own_mmap=ok$' 10
expect_fail 5 "memory mappings of at most [0-9]+ \(vm.max_map_count\)" hp -p "$pid" apply patch.so
assert_eq "$mapped" "$(patch_mappings "$pid")" "patch mappings after the refusal"
mark_log t
expect_output t '^action=in the loop len=11 entered=3$' 3
finish_target t

# Callbacks (docs/creator.md#callbacks), in a hand-written patch: each runs at its
# point (what compute(7) answers there: old code before the jumps, new code after),
# on the runtime's own thread (hotpatch-call) while the program runs (each takes the
# program's big_lock, which a worker thread holds most of the time: a borrowed worker
# would wait for itself forever; and waits for the worker to go on),
# and a pre-apply callback that refuses leaves nothing changed.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c" "-DREFUSE_FILE=\"$WORK/refuse\""
expect_success hp info patch.so
assert_match '^  pre-apply callback: pre_apply$' "$LAST_OUT" "info: pre-apply"
assert_match '^  post-revert callback: post_revert$' "$LAST_OUT" "info: post-revert"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21$' 3
entry=$(symbol_addr "$pid" target compute)
code_before=$(read_mem "$pid" "$entry" 16)

step "pre-apply refuses: nothing changed"
: >refuse
expect_fail 8 "patch 'hooks-fix' refused by its pre-apply callback pre_apply \(returned 7\); nothing was changed" \
  hp -p "$pid" apply patch.so
wait_for_log t '^callback pre-apply refusing: compute\(7\)=21 on hotpatch-call$' 2
assert_eq "$code_before" "$(read_mem "$pid" "$entry" 16)" "compute's first bytes after the refused apply"
grep -q "$WORK/patch.so" "/proc/$pid/maps" && fail "the refused patch is still mapped in the process"
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after the refused apply"
expect_output t '^compute\(7\)=21$' 3
expect_log_lacks t '^callback post-apply'

step "apply: pre-apply sees the old code, post-apply the new"
rm refuse
mark_log t
apply_ok "$pid" patch.so hooks-fix
wait_for_log t '^callback pre-apply: compute\(7\)=21 on hotpatch-call$' 2
wait_for_log t '^callback post-apply: compute\(7\)=70 on hotpatch-call$' 2
wait_for_log t '^compute\(7\)=70$' 2
expect_output t '^compute\(7\)=70$' 3
[ "$(read_mem "$pid" "$entry" 16)" != "$code_before" ] || fail "compute's entry did not change"

step "revert: pre-revert sees the new code, post-revert the old"
mark_log t
revert_ok "$pid" hooks-fix
wait_for_log t '^callback pre-revert: compute\(7\)=70 on hotpatch-call$' 2
wait_for_log t '^callback post-revert: compute\(7\)=21 on hotpatch-call$' 2
wait_for_log t '^compute\(7\)=21$' 2
assert_eq "$code_before" "$(read_mem "$pid" "$entry" 16)" "compute's first bytes after the revert"

step "callbacks that crash: the program never sees the fault"
build_patch crash.so "$CASE_DIR/crash.c" "-DCRASH_FILE=\"$WORK/crash\""
: >crash
expect_fail 1 "pre-apply callback pre_apply of patch 'crash-fix'" hp -p "$pid" apply crash.so
expect_alive "$pid"
assert_eq "$code_before" "$(read_mem "$pid" "$entry" 16)" "compute's first bytes after a crashed pre-apply"
grep -q "$WORK/crash.so" "/proc/$pid/maps" && fail "the patch whose pre-apply crashed is still mapped"
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after a crashed pre-apply"
rm crash
expect_fail 1 "patch 'crash-fix' is applied, but process [0-9]+ thread [0-9]+: post-apply callback post_apply of patch 'crash-fix' faulted" \
  hp -p "$pid" apply crash.so
expect_alive "$pid"
mark_log t
wait_for_log t '^compute\(7\)=70$' 2
expect_success hp -p "$pid" list
assert_match '^crash-fix  applied ' "$LAST_OUT" "list after a crashed post-apply"
revert_ok "$pid" crash-fix
mark_log t
wait_for_log t '^compute\(7\)=21$' 2
finish_target t

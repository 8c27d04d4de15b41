# A failure inside the commit (issue 11, item 4): after the journal is written
# ("applying"/"reverting" recorded), after each jump, after the final registry
# write. Each is injected (HOTPATCH_TEST_FAIL_AT) and must leave nothing behind,
# undone in the same stop: the functions as they were, no record, the patch
# unloaded; and later list/apply/revert work. (Before: the patch was unloaded but
# its "applying" record stayed, and the next command "completed" it by writing
# jumps into unmapped code.)
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"
start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready pid='

# behaves VERSION: the next lines show alpha and beta at VERSION (1 or 2).
behaves() {
  mark_log t
  wait_for_log t "^tick [0-9]+ alpha=$1 beta=$1$" 5
  expect_output t "^tick [0-9]+ alpha=$1 beta=$1$" 3
}
behaves 1

for fail_step in apply:journal-written apply:jump-1-written apply:jump-2-written apply:committed; do
  step "apply fails at $fail_step"
  HOTPATCH_TEST_FAIL_AT=$fail_step run_cmd hp -p "$pid" apply patch.so
  [ "$LAST_RC" -eq 1 ] && [[ $LAST_ERR == *"failure injected at step $fail_step"* ]] || {
    _show_run hp -p "$pid" apply patch.so
    fail "expected exit 1 with the injected failure at $fail_step"
  }
  expect_alive "$pid"
  expect_success hp -p "$pid" list
  assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after a failure at $fail_step"
  assert_no_match 'note: process' "$LAST_ERR" "list after a failure at $fail_step (nothing left to finish)"
  grep -q "$WORK/patch.so" "/proc/$pid/maps" && fail "the patch is still mapped after the failure at $fail_step"
  behaves 1
done

step "apply, then revert fails at each step of its commit"
apply_ok "$pid" patch.so two
behaves 2
for fail_step in revert:journal-written revert:jump-1-restored revert:jump-2-restored revert:committed; do
  step "revert fails at $fail_step"
  HOTPATCH_TEST_FAIL_AT=$fail_step run_cmd hp -p "$pid" revert two
  [ "$LAST_RC" -eq 1 ] && [[ $LAST_ERR == *"failure injected at step $fail_step"* ]] || {
    _show_run hp -p "$pid" revert two
    fail "expected exit 1 with the injected failure at $fail_step"
  }
  expect_alive "$pid"
  expect_success hp -p "$pid" list
  assert_match '^two +applied ' "$LAST_OUT" "list after a failed revert at $fail_step"
  behaves 2
done
revert_ok "$pid" two
behaves 1
apply_ok "$pid" patch.so two
behaves 2
revert_ok "$pid" two
behaves 1

step "the installed CLI has no test-only switches (issue 11, item 9)"
grep -q HOTPATCH_TEST_ "$HOTPATCH" && fail "$HOTPATCH contains HOTPATCH_TEST_ strings"
HOTPATCH_TEST_FAIL_AT=apply:journal-written run_cmd timeout 60 "$HOTPATCH" -p "$pid" apply patch.so
[ "$LAST_RC" -eq 0 ] || { _show_run "$HOTPATCH" -p "$pid" apply patch.so; fail "the installed CLI obeyed HOTPATCH_TEST_FAIL_AT"; }
behaves 2
revert_ok "$pid" two
finish_target t

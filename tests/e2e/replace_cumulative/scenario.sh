# Cumulative patches, atomic replace (docs/creator.md#cumulative-patches-and-replace):
# `apply --replace series-1 patch2.so` applies series-2 and reverts series-1 in the
# same stop. Four threads call alpha, beta and gamma without pause and count the
# answers by version: alpha, patched by both, never answers the original again once
# series-1 is in; beta, only in series-1, gets its original code back; gamma, only
# in series-2, gets the new one. Then the refusals, and the revert of series-2.
build_target target "$CASE_DIR/target.c"
build_patch patch1.so "$CASE_DIR/patch1.c"
build_patch patch2.so "$CASE_DIR/patch2.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
wait_for_log t '^now alpha=0 beta=0 gamma=0 '

# count NAME: the latest value of NAME=N in the target's lines.
count() { last_match t '^now ' | sed -nE "s/.* $1=([0-9]+)( .*)?\$/\\1/p"; }
# settled LINE_REGEX: two new lines match (calls made before the change are counted).
settled() {
  mark_log t
  wait_for_log t "$1" 3
  expect_output t "$1" 2
}

step "apply series-1"
apply_ok "$pid" patch1.so series-1
settled '^now alpha=1 beta=1 gamma=0 '
alpha0=$(count alpha0)
beta1=$(count beta1)

step "replace series-1 with series-2, in one stop"
expect_success hp -p "$pid" apply --replace series-1 patch2.so
assert_match '^applied series-2 in place of series-1: 2 functions, 1 attempt, paused [0-9]+ us \([0-9]+ threads, longest thread [0-9]+\)$' \
  "$LAST_OUT" "apply --replace output"
settled '^now alpha=2 beta=0 gamma=2 '
assert_eq "$alpha0" "$(count alpha0)" "calls of alpha that got the original code since series-1 was applied"
[ "$(count alpha2)" -gt 0 ] || fail "alpha never answered 2"
[ "$(count beta1)" -ge "$beta1" ] || fail "beta1 went down"
expect_success hp -p "$pid" list
assert_eq "series-2" "$(grep -oE '^series-[0-9]+' <<<"$LAST_OUT" | paste -sd' ')" "patches listed after the replace"
assert_match "$(redirect_re alpha '0x[0-9a-f]+' alpha_2)" "$LAST_OUT" "list: alpha"
assert_match "$(redirect_re gamma_ '0x[0-9a-f]+' gamma_2)" "$LAST_OUT" "list: gamma"
assert_no_match '^  beta ' "$LAST_OUT" "list: beta is no one's any more"
# The replaced patch's code stays mapped, as after a revert (docs/cli.md#revert).
grep -q " /memfd:hotpatch:series-1 (deleted)$" "/proc/$pid/maps" || fail "series-1's code was unmapped when it was replaced"
assert_match '^kept mapped: 1 reverted patch copy \([0-9]+ bytes\)$' "$LAST_OUT" "list: series-1's kept copy"

step "refusals leave series-2 in place"
expect_fail 7 "no patch 'nope' is applied" hp -p "$pid" apply --replace nope patch1.so
# The same id from other bytes (an identical copy would be "already applied").
build_patch patch2-again.so "$CASE_DIR/patch2.c" -DHOTPATCH_REBUILT
expect_fail 7 "a patch with id 'series-2' is already applied" hp -p "$pid" apply --replace series-2 patch2-again.so
# Asked again, the same replace finds its result in place and changes nothing.
expect_success hp -p "$pid" apply --replace series-1 patch2.so
assert_match '^already applied series-2 ' "$LAST_OUT" "the same replace a second time"
build_patch top.so "$CASE_DIR/patch1.c" -DHOTPATCH_TOP
apply_ok "$pid" top.so top
expect_fail 7 "patch 'top' is applied on top of 'series-2'" hp -p "$pid" apply --replace series-2 patch1.so
revert_ok "$pid" top
settled '^now alpha=2 beta=0 gamma=2 '

step "revert series-2: everything original"
revert_ok "$pid" series-2
settled '^now alpha=0 beta=0 gamma=0 '
finish_target t

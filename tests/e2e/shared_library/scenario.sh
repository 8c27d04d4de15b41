# A function in a shared library the target links against (built here).
cc -shared -fPIC -O2 -g -Wl,-soname,libcalc.so -o libcalc.so "$CASE_DIR/libcalc.c" ||
  fail "could not build libcalc.so"
build_target target "$CASE_DIR/target.c" -L"$WORK" -lcalc -Wl,-rpath,"$WORK"
build_patch patch.so "$CASE_DIR/patch.c"
build_patch patch_pinned.so "$CASE_DIR/patch_pinned.c"
build_patch patch_wrong_object.so "$CASE_DIR/patch_wrong_object.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^calc\(7\)=21 calc_total\(3\)=18$' 3
grep -q " $WORK/libcalc.so$" "/proc/$pid/maps" || fail "libcalc.so is not mapped in the target"

step "apply (symbol found in libcalc.so)"
apply_ok "$pid" patch.so fix-calc
wait_for_log t '^calc\(7\)=70 calc_total\(3\)=60$' 2
expect_output t '^calc\(7\)=70 calc_total\(3\)=60$' 5
expect_success hp -p "$pid" list
addr=$(symbol_addr "$pid" libcalc.so calc)
assert_match "$(redirect_re calc "$addr" calc_v2)" "$LAST_OUT" "list: redirect line (address inside libcalc.so)"

step "revert"
revert_ok "$pid" fix-calc
wait_for_log t '^calc\(7\)=21 calc_total\(3\)=18$' 2
expect_output t '^calc\(7\)=21 calc_total\(3\)=18$' 5

step "apply with HOTPATCH_OBJECT(\"libcalc.so\")"
apply_ok "$pid" patch_pinned.so fix-calc-pinned
wait_for_log t '^calc\(7\)=70 calc_total\(3\)=60$' 2
expect_output t '^calc\(7\)=70 calc_total\(3\)=60$' 3
revert_ok "$pid" fix-calc-pinned
wait_for_log t '^calc\(7\)=21 calc_total\(3\)=18$' 2
expect_output t '^calc\(7\)=21 calc_total\(3\)=18$' 3

step "HOTPATCH_OBJECT(\"libc.so.6\") has no calc: refused"
expect_fail 5 'calc' hp -p "$pid" apply patch_wrong_object.so
expect_output t '^calc\(7\)=21 calc_total\(3\)=18$' 3
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after the refused apply"

finish_target t

# revert --all takes every patch back, newest first, and says so line by line.
build_target target "$CASE_DIR/target.c"
for n in 1 2 3; do build_patch "patch$n.so" "$CASE_DIR/patch$n.c"; done

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21 version=1$' 3

step "revert --all with nothing applied"
expect_success hp -p "$pid" revert --all
assert_eq "nothing to revert" "$LAST_OUT" "revert --all output"

step "apply p1, p2 (on p1), p3"
apply_ok "$pid" patch1.so p1
apply_ok "$pid" patch2.so p2
apply_ok "$pid" patch3.so p3
wait_for_log t '^compute\(7\)=700 version=3$' 2
expect_output t '^compute\(7\)=700 version=3$' 3
expect_success hp -p "$pid" list
assert_eq "p1 p2 p3" "$(grep -oE '^p[0-9] ' <<<"$LAST_OUT" | tr -d ' ' | paste -sd' ')" "patches in list"

step "revert --all"
expect_success hp -p "$pid" revert --all
assert_eq "p3 p2 p1" "$(sed -nE 's/^reverted (p[0-9]): .*/\1/p' <<<"$LAST_OUT" | paste -sd' ')" \
  "revert --all: one line per patch, newest first"
assert_eq 3 "$(wc -l <<<"$LAST_OUT")" "revert --all: number of lines"
wait_for_log t '^compute\(7\)=21 version=1$' 2
expect_output t '^compute\(7\)=21 version=1$' 5
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after revert --all"

step "revert --all again: nothing to revert"
expect_success hp -p "$pid" revert --all
assert_eq "nothing to revert" "$LAST_OUT" "second revert --all"

step "the same patches can go in again"
apply_ok "$pid" patch1.so p1
apply_ok "$pid" patch3.so p3
wait_for_log t '^compute\(7\)=70 version=3$' 2
expect_success hp -p "$pid" revert --all
wait_for_log t '^compute\(7\)=21 version=1$' 2
expect_output t '^compute\(7\)=21 version=1$' 3

finish_target t

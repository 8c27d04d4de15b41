# Life (issue 5): a patched process fork()s. The child is a copy of the patched
# process: it runs the new code and `list` shows it the patch (the registry lives
# in the target's memory, so the child has its own copy). From then on they are
# two processes: patching or reverting one leaves the other as it was.
build_target target "$CASE_DIR/target.c"
build_patch patch1.so "$E2E_DIR/basic_pie/patch.c"
build_patch patch2.so "$CASE_DIR/patch2.c"

start_target p ./target "$WORK/c.log"
parent=$LAST_PID
wait_for_log p '^ready'
expect_output p "^pid=$parent compute\\(7\\)=21$" 3

step "patch the parent, then let it fork"
apply_ok "$parent" patch1.so fix-compute
wait_for_log p "^pid=$parent compute\\(7\\)=70$" 2
expect_success hp -p "$parent" list
parent_list=$LAST_OUT
kill -USR1 "$parent"
wait_for_log p '^forked child [0-9]+$' 5
child=$(sed -nE 's/^forked child ([0-9]+)$/\1/p' p.log)
# The child's log, under the name c, for the usual helpers.
echo "$child" >c.pid
_CURSOR[c]=0
wait_for_log c "^child ready pid=$child$" 5
note "parent $parent, child $child"

step "the child runs the patched code and lists the patch"
expect_output c "^pid=$child compute\\(7\\)=70$" 3
expect_success hp -p "$child" list
assert_eq "$parent_list" "$LAST_OUT" "the child's list (same patch, same addresses as in the parent)"

step "revert in the child: the parent keeps the patch"
revert_ok "$child" fix-compute
wait_for_log c "^pid=$child compute\\(7\\)=21$" 2
expect_output c "^pid=$child compute\\(7\\)=21$" 3
mark_log p
expect_output p "^pid=$parent compute\\(7\\)=70$" 3
expect_success hp -p "$child" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "the child's list after its revert"
expect_success hp -p "$parent" list
assert_eq "$parent_list" "$LAST_OUT" "the parent's list after the child's revert"

step "a second patch in the parent: the child does not get it"
apply_ok "$parent" patch2.so fix-more
wait_for_log p "^pid=$parent compute\\(7\\)=700$" 2
mark_log c
expect_output c "^pid=$child compute\\(7\\)=21$" 3
expect_success hp -p "$child" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "the child's list after the parent's second apply"

step "apply in the child again: the parent is not touched"
apply_ok "$child" patch1.so fix-compute
wait_for_log c "^pid=$child compute\\(7\\)=70$" 2
expect_output c "^pid=$child compute\\(7\\)=70$" 3
mark_log p
expect_output p "^pid=$parent compute\\(7\\)=700$" 3
expect_success hp -p "$parent" list
assert_eq "fix-compute fix-more" "$(grep -oE '^fix-[a-z]+' <<<"$LAST_OUT" | paste -sd' ')" "the parent's patches"

step "revert --all in the parent: the child keeps its patch"
expect_success hp -p "$parent" revert --all
wait_for_log p "^pid=$parent compute\\(7\\)=21$" 2
expect_output p "^pid=$parent compute\\(7\\)=21$" 3
mark_log c
expect_output c "^pid=$child compute\\(7\\)=70$" 3

step "revert --all in the child"
expect_success hp -p "$child" revert --all
wait_for_log c "^pid=$child compute\\(7\\)=21$" 2
expect_output c "^pid=$child compute\\(7\\)=21$" 3

finish_target c
finish_target p

# A signal handler running on an alternate signal stack hides the frames it
# interrupted (on the thread's normal stack) from a scan that starts at the stack
# pointer. Here one of them returns into the patch's code: revert must see it
# through the signal frame's saved context and wait (busy, exit 6), not unload the
# patch under the thread's feet; once the handler has returned, revert works.
build_target target "$CASE_DIR/target.c" -rdynamic
build_patch patch.so "$CASE_DIR/patch.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^W tid=[0-9]+$'
w=$(sed -nE 's/^W tid=([0-9]+)$/\1/p' t.log)
wait_for_log t '^work\(7\)=21$'

step "apply: work() now runs the patch's work_v2, which calls inner()"
apply_ok "$pid" patch.so altstack-fix
wait_for_log t '^work\(7\)=70$' 2

step "thread $w parks in inner(), below it work_v2; its handler waits on its alternate stack"
kill -HUP "$pid"
wait_for_log t '^W parked in inner\(\)$' 2
wait_for_log t '^handler waits on the alternate stack$' 2

step "revert --timeout 1000 while work_v2 is on thread $w's normal stack"
expect_fail 6 "code of patch 'altstack-fix'.*thread $w" hp -p "$pid" revert altstack-fix --timeout 1000
expect_success hp -p "$pid" list
assert_match '^altstack-fix  applied ' "$LAST_OUT" "list after the busy revert"

step "the handler returns into inner(), inner() into work_v2; then revert works"
kill -USR2 "$pid"
wait_for_log t '^handler returns$' 2
revert_ok "$pid" altstack-fix
wait_for_log t '^work\(7\)=21$' 2
mark_log t
nap 0.2
expect_alive "$pid"
finish_target t

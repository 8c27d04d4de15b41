# A pointer to the function being replaced sits in a live stack frame (a callback
# in main's locals; a C++ std::function keeps its invoker's address the same way).
# The apply's stack scan must not take that word for a return address into the
# function: a return address is the byte after a call, never a function's first
# byte. Before, the apply waited for the pointer to go away until its timeout.
build_target target "$CASE_DIR/target.c" -fPIE -pie
build_patch patch.so "$CASE_DIR/patch.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^via=21 direct=21$' 3
step "apply"
apply_ok "$pid" patch.so fix-compute
wait_for_log t '^via=70 direct=70$' 2
expect_output t '^via=70 direct=70$' 3

step "revert"
revert_ok "$pid" fix-compute
wait_for_log t '^via=21 direct=21$' 2
finish_target t '^BAD'

# A fault inside a remote call that holds a lock (issue 11, item 7): the patch's
# constructor crashes inside the remote dlopen, which holds the dynamic loader's
# lock. The fault is not delivered (the program lives on, the thread is put back),
# and the command says that a lock may stay held and runs nothing more in the
# process: no unload (a dlclose would wait for that lock forever), no hang.
build_target target "$E2E_DIR/common/ticker.c"
build_patch patch.so "$CASE_DIR/patch.c"
start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready pid='
wait_for_log t '^tick compute=21$'

step "apply: the constructor faults inside dlopen"
expect_fail 1 'faulted \(signal Segmentation fault\) at pc 0x[0-9a-f]+ \((in|called from) [^)]*(ld-linux|libc)[^)]*\); the thread was put back to what it was doing and nothing more is run in the process' \
  hp -p "$pid" apply patch.so
expect_alive "$pid"
mark_log t
expect_output t '^tick compute=21$' 3   # the program lives on, unpatched
expect_success hp -p "$pid" list
assert_match '^no patches applied$' "$LAST_OUT" "list after the fault"
stop_target t

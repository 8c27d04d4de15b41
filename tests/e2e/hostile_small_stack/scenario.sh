# A thread without stack room is never borrowed (issue 11, item 7): a remote call's
# signal frame (registers + XSAVE image, up to ~11 KiB) and dlopen run below the
# thread's stack pointer. Here the first thread tried (the main thread) sleeps with
# ~6 KiB left of a 16 KiB stack laid out as pthread's (a guard page below); the call
# must go to the other thread, and both must live on.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"
start_target t ./target
wait_for_log t '^ready pid='
pid=$LAST_PID
wait_for_log t '^small thread sleeps with [0-9]+ bytes of stack left$'
note "$(grep '^small thread sleeps' t.log)"
wait_for_log t '^tick compute=21$'

for round in 1 2; do
  step "round $round: apply + revert"
  apply_ok "$pid" patch.so fix-compute
  wait_for_log t '^tick compute=70$'
  revert_ok "$pid" fix-compute
  wait_for_log t '^tick compute=21$'
done
mark_log t
wait_for_log t '^small alive [0-9]+$' 2   # the small thread was not hurt
finish_target t

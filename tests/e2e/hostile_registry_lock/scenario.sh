# The registry's lock held by a thread that is gone (issue 11, item 10): it died
# holding it, or the process forked while another thread held it (the child's
# lock names a thread of the parent). Neither the Loader nor the runtime may wait
# for it forever: the holder is no thread of the process, so the lock is taken over.
BUILD=$(dirname "$HOTPATCH")
build_target target "$E2E_DIR/common/ticker.c"
build_patch patch.so "$CASE_DIR/patch.c"
cc -shared -fPIC -O2 -o "$WORK/lib.so" "$E2E_DIR/common/ticker_v2.c" || fail "cannot build lib.so"
start_target t env LD_PRELOAD="$BUILD/libhotpatch_preload.so" ./target
pid=$LAST_PID
wait_for_log t '^ready pid='
wait_for_log t '^tick compute=21$'

runtime=$(awk '$6 ~ /\/libhotpatch\.so/ { print $6; exit }' "/proc/$pid/maps")
[ -n "$runtime" ] || fail "libhotpatch.so is not mapped in process $pid"
registry=$(symbol_addr "$pid" "$runtime" hotpatch_registry)

# lock_with TID: writes TID into the registry header's lock field (offset 12).
lock_with() {
  python3 -c '
import struct, sys
pid, addr, tid = int(sys.argv[1]), int(sys.argv[2], 0), int(sys.argv[3])
with open(f"/proc/{pid}/mem", "r+b") as mem:
    mem.seek(addr + 12)
    mem.write(struct.pack("<I", tid))' "$pid" "$registry" "$1" || fail "cannot write the registry lock"
}
# A tid that is no thread of the target: a short-lived process's pid, now gone.
sh -c 'exit 0' &
dead=$!
wait "$dead"

# A registry never written has no header yet (its lock is not read): write it once.
apply_ok "$pid" patch.so fix-compute
revert_ok "$pid" fix-compute

step "apply with the lock held by thread $dead, which is gone"
lock_with "$dead"
apply_ok "$pid" patch.so fix-compute --timeout 3000
wait_for_log t '^tick compute=700$'
revert_ok "$pid" fix-compute
wait_for_log t '^tick compute=21$'

step "func upgrade (the runtime's own transaction) with the lock held by thread $dead"
lock_with "$dead"
expect_success hp -p "$pid" lib load l "$WORK/lib.so"
expect_success hp -p "$pid" func upgrade l compute compute_v2
wait_for_log t '^tick compute=70$'
expect_success hp -p "$pid" func rollback compute
wait_for_log t '^tick compute=21$'

step "a live holder is still waited for: apply reports busy"
lock_with "$pid"   # the main thread, alive
expect_fail 6 'registry is being updated by thread' hp -p "$pid" apply patch.so --timeout 500
lock_with 0
apply_ok "$pid" patch.so fix-compute
revert_ok "$pid" fix-compute
finish_target t

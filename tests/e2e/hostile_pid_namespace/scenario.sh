# A target in a PID namespace of its own, with its own /proc and /run, as a container
# runtime starts one (`unshare --pid --fork --mount-proc`): it is process 1 there and
# its threads are 2 and 3, while we see other numbers. Everything the target reports
# by its own ids must be translated (issue 11, item 8):
# - its control socket is named after its getpid() (1) under its own /run;
# - the registry lock holds its gettid(): a live holder must be waited for, not
#   taken as dead because no thread of ours has that number;
# - the control thread it names (for borrowing) is its gettid() too;
# - the runtime's helper (func upgrade) runs inside the namespace: fine with the
#   namespace's /proc, refused where /proc is another namespace's;
# - an audit record of the runtime cannot know the pid of a caller outside its
#   namespace: none, not "pid 0".
# A socket named like the target's but listened on by another process is refused.
command -v unshare >/dev/null && command -v nsenter >/dev/null || fail "unshare/nsenter (util-linux) are needed"
BUILD=$(dirname "$HOTPATCH")
build_target app "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"
cc -shared -fPIC -O2 -o "$WORK/lib.so" "$CASE_DIR/lib.c" || fail "cannot build lib.so"

# child_of PID: its one child's pid (unshare --fork runs the namespace's process 1 as one).
child_of() {
  local kids='' i
  for i in $(seq 100); do
    read -r kids <"/proc/$1/task/$1/children" || true
    [ -n "$kids" ] && break
    nap 0.05
  done
  [ -n "$kids" ] || fail "process $1 has no child"
  echo "${kids%% *}"
}

start_target t unshare --pid --fork --kill-child --mount-proc --propagation private \
  sh -c "mount -t tmpfs -o mode=755 tmpfs /run && exec '$WORK/app'"
wait_for_log t '^ready pid=1$'
pid=$(child_of "$LAST_PID")
[ "$(readlink /proc/$pid/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] || fail "the target shares our PID namespace"
assert_match "^NSpid:[[:space:]]+$pid[[:space:]]+1$" "$(grep NSpid /proc/$pid/status)" "the target's pids"
wait_for_log t '^tick 2 compute=21$'
note "target: process $pid here, 1 in its namespace; threads $(ls /proc/$pid/task | tr '\n' ' ')"

step "apply, list, revert from outside, by our pid"
apply_ok "$pid" patch.so pidns-fix
mark_log t
expect_output t '^tick [012] compute=700$' 6
expect_success hp -p "$pid" list
assert_match "^  compute \\(0x[0-9a-f]+\\) -> compute_v3 " "$LAST_OUT" "list names the patch's function"
revert_ok "$pid" pidns-fix
mark_log t
expect_output t '^tick [012] compute=21$' 6

step "inject: the socket is the target's, named 1.sock under its own /run"
expect_success hp -p "$pid" inject
assert_match "^control server running in process $pid: /proc/$pid/root/run/hotpatch/1\\.sock$" "$LAST_OUT" "inject's socket"
expect_success hp -p "$pid" socket
assert_eq "/proc/$pid/root/run/hotpatch/1.sock" "$LAST_OUT" "socket"

step "the audit record of the runtime names no caller pid (ours is not visible from there)"
start_target journal nsenter -t "$pid" -m -- sh -c \
  "mkdir -p /run/systemd/journal && exec python3 '$CASE_DIR/../trust_audit/journal.py' /run/systemd/journal/socket '$WORK/journal.jsonl'"
wait_for_log journal '^listening$' 10
expect_success hp -p "$pid" lib load l "$WORK/lib.so"
_deadline 5
end=$_DEADLINE
until python3 "$CASE_DIR/../trust_audit/record.py" journal.jsonl HOTPATCH_ACTION=lib-load HOTPATCH_RESULT=ok \
  HOTPATCH_TARGET_PID=1 HOTPATCH_CALLER_UID=0 >record.out 2>record.err; do
  _past "$end" && { cat record.err >&2; fail "no audit record of lib load"; }
  nap 0.05
done
note "record: $(cat record.out)"
assert_no_match '"HOTPATCH_CALLER_PID"' "$(cat record.out)" "the record's caller pid"
assert_match '"MESSAGE": "lib-load ok: l .*in process 1 \([^)]*\) by uid 0"' "$(cat record.out)" "the record's message"

step "func upgrade: the runtime's helper runs inside the namespace, where -p 1 is the target"
expect_success hp -p "$pid" func upgrade l compute compute_v2
mark_log t
expect_output t '^tick [012] compute=70$' 6
expect_success hp -p "$pid" func rollback compute
mark_log t
expect_output t '^tick [012] compute=21$' 6

step "apply with the control server running: its thread (a namespace id) is the one borrowed"
HOTPATCH_TEST_STEPS=list run_cmd hp -p "$pid" apply patch.so
[ "$LAST_RC" -eq 0 ] || { _show_run hp -p "$pid" apply patch.so; fail "apply failed"; }
steps=$(sed -n 's/^hotpatch: step //p' "$WORK/last.err")
grep -qx 'apply:borrowed-control-thread' <<<"$steps" ||
  fail "the control thread was not borrowed: $(grep borrowed <<<"$steps" | tr '\n' ' ')"
wait_for_log t '^tick [012] compute=700$'
revert_ok "$pid" pidns-fix
wait_for_log t '^tick [012] compute=21$'

runtime=$(awk '$6 ~ /\/libhotpatch\.so/ { print $6; exit }' "/proc/$pid/maps")
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
step "the registry locked by thread 1 of the namespace (the main thread, alive): busy, not taken over"
lock_with 1
expect_fail 6 "registry is being updated by thread $pid \\(1 in its PID namespace\\)" hp -p "$pid" apply patch.so --timeout 500
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after the refusal"
step "the registry locked by thread 9999 of the namespace (none): taken over"
lock_with 9999
apply_ok "$pid" patch.so pidns-fix --timeout 3000
wait_for_log t '^tick [012] compute=700$'
revert_ok "$pid" pidns-fix
wait_for_log t '^tick [012] compute=21$'

step "a hotpatch inside the namespace with our /proc: refused, whatever the pid names here"
# (Process 2 of the target's namespace is a thread of it; our process 2 is another.)
expect_fail 3 "the /proc mounted here belongs to another PID namespace" nsenter -t "$pid" -p -- \
  timeout -k 5 60 "$HOTPATCH" -p 2 list
expect_fail 3 "the /proc mounted here belongs to another PID namespace" nsenter -t "$pid" -p -- \
  timeout -k 5 60 "$HOTPATCH" -p 2 lib list

step "a socket named like the target's, listened on by another process: refused"
# The target's runtime socket moved aside, another listener (a process of ours)
# put in its place.
sock=/proc/$pid/root/run/hotpatch/1.sock
mv "$sock" "$sock.real"
start_target fake python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8); print("listening", flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"OK\n"); c.close()' "$sock"
wait_for_log fake '^listening$' 10
expect_fail 9 "the socket $sock is not its own but process $LAST_PID's" hp -p "$pid" lib list
stop_target fake
mv "$sock.real" "$sock"
expect_success hp -p "$pid" lib list
expect_alive "$pid"
mark_log t
expect_output t '^tick [012] compute=21$' 6

step "the agent in a PID namespace of its own: refused at once (the kernel would send it no process events)"
mkdir -m 700 "$WORK/agent-patches"
expect_fail 3 'the kernel sends process events only to the initial PID and user namespaces' \
  timeout -k 5 10 unshare --pid --fork --kill-child --mount-proc \
  "$HOTPATCH" agent --patch-dir "$WORK/agent-patches" --run-dir "$WORK/agent-run" --log stderr

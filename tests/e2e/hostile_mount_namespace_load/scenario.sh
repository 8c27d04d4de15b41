# A target in another mount namespace where the patch's path names another file (a
# container's file of the same name, or a mount over it; issue 11, item 8): the
# dlopen inside the target resolves the path there, so it would load that file,
# not the one the CLI checked and planned with. apply must refuse, and load the
# patch once the path names the same file there again.
command -v unshare >/dev/null && command -v nsenter >/dev/null || fail "unshare/nsenter (util-linux) are needed"
build_target app "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"
build_patch other.so "$CASE_DIR/other.c"

start_target t unshare -m --propagation private sh -c "mount --bind '$WORK/other.so' '$WORK/patch.so' && exec '$WORK/app'"
wait_for_log t '^started$'
pid=$LAST_PID # unshare and sh exec, so the pid stays
[ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || fail "the target shares our mount namespace"
[ "$(stat -L -c %i /proc/$pid/root$WORK/patch.so)" = "$(stat -c %i other.so)" ] || fail "the mount over patch.so did not take"
wait_for_log t '^compute\(7\)=21$'

step "apply: patch.so is another file in the target's namespace: refused, nothing loaded"
expect_fail 5 "names another file in its mount namespace" hp -p "$pid" apply patch.so
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after the refusal"
mark_log t
expect_output t '^compute\(7\)=21$' 3
expect_log_lacks t 'other file loaded'

step "once patch.so there is the file checked here: applied"
nsenter -t "$pid" -m umount "$WORK/patch.so" || fail "could not remove the mount over patch.so"
apply_ok "$pid" patch.so mntns-load
mark_log t
expect_output t '^compute\(7\)=70$' 3
revert_ok "$pid" mntns-load
mark_log t
expect_output t '^compute\(7\)=21$' 3
expect_log_lacks t 'other file loaded'
finish_target t

# A target in another mount namespace where the patch's path names another file (a
# container's file of the same name, or a mount over it; issue 11, item 8): a dlopen
# of the path inside the target would load that file, not the one the CLI checked
# and planned with. The patch's bytes, read once by the CLI, are loaded from a memfd
# (docs/security.md): the target gets exactly the checked patch, and the other
# file's constructor never runs. (The runtime, loaded by path, is checked by device
# and inode in the target's namespace before its dlopen: patch_load.h.)
command -v unshare >/dev/null && command -v nsenter >/dev/null || fail "unshare/nsenter (util-linux) are needed"
build_target app "$E2E_DIR/hostile_mount_namespace/target.c"
build_patch patch.so "$CASE_DIR/patch.c"
build_patch other.so "$CASE_DIR/other.c"

start_target t unshare -m --propagation private sh -c "mount --bind '$WORK/other.so' '$WORK/patch.so' && exec '$WORK/app'"
wait_for_log t '^started$'
pid=$LAST_PID # unshare and sh exec, so the pid stays
[ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || fail "the target shares our mount namespace"
[ "$(stat -L -c %i /proc/$pid/root$WORK/patch.so)" = "$(stat -c %i other.so)" ] || fail "the mount over patch.so did not take"
wait_for_log t '^compute\(7\)=21$'

step "apply: patch.so is another file in the target's namespace: the checked bytes are loaded"
apply_ok "$pid" patch.so mntns-load
mark_log t
expect_output t '^compute\(7\)=70$' 3
expect_log_lacks t 'other file loaded'
grep -q "/memfd:hotpatch:mntns-load (deleted)$" "/proc/$pid/maps" || fail "the patch is not mapped from its memfd"
! grep -q " $WORK/patch.so$" "/proc/$pid/maps" || fail "the patch was mapped from the namespace's file"
revert_ok "$pid" mntns-load
mark_log t
expect_output t '^compute\(7\)=21$' 3
expect_log_lacks t 'other file loaded'
finish_target t

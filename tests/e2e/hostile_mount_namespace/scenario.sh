# A target in another mount namespace runs a program whose path names another
# file for us: ./app here is one build, the target runs another build of the same
# source (bind-mounted over ./app in its namespace). Then, as when a container's
# files are updated under a running program, a copy of the first build is mounted
# over ./app in the target's namespace too: even /proc/PID/root/.../app is no longer
# the file it runs. compute() lies elsewhere in each build. Symbols must come from
# the file the target has mapped; reading any file named ./app would put the jump
# in the wrong place.
command -v unshare >/dev/null && command -v nsenter >/dev/null || fail "unshare/nsenter (util-linux) are needed"
build_target app "$CASE_DIR/target.c"
build_target app-shifted "$CASE_DIR/target.c" -DSHIFTED
build_patch patch.so "$CASE_DIR/patch.c"
[ "$(nm app | awk '$3 == "compute" {print $1}')" != "$(nm app-shifted | awk '$3 == "compute" {print $1}')" ] ||
  fail "the two builds have compute() at the same address; the case proves nothing"

start_target t unshare -m --propagation private sh -c "mount --bind '$WORK/app-shifted' '$WORK/app' && exec '$WORK/app'"
wait_for_log t '^started$'
pid=$LAST_PID # unshare and sh exec, so the pid stays
[ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || fail "the target shares our mount namespace"
cp app app-copy
nsenter -t "$pid" -m mount --bind "$WORK/app-copy" "$WORK/app" || fail "could not mount over ./app in the target's namespace"
[ "$(stat -L -c %i /proc/$pid/root$WORK/app)" = "$(stat -c %i app-copy)" ] || fail "the mount over ./app did not take"
note "target $pid runs inode $(stat -L -c %i /proc/$pid/exe) (app-shifted); ./app is $(stat -c %i app) here, $(stat -c %i app-copy) there"
wait_for_log t '^compute\(7\)=21$'

step "apply: the jump goes to the compute() the target runs"
apply_ok "$pid" patch.so mntns-fix
base=$(awk '$3 == "00000000" && $6 ~ /\/app$/ {split($1, r, "-"); print r[1]; exit}' "/proc/$pid/maps")
offset=$(nm app-shifted | awk '$3 == "compute" {print $1}')
expect_success hp -p "$pid" list
assert_match "$(redirect_re compute "$(printf '0x%x' $((0x$base + 0x$offset)))" compute_v2)" "$LAST_OUT" \
  "list names compute() at its address in the build the target runs"
mark_log t
expect_output t '^compute\(7\)=70$' 3
revert_ok "$pid" mntns-fix
mark_log t
expect_output t '^compute\(7\)=21$' 3

# Without CAP_SYS_ADMIN (and CAP_CHECKPOINT_RESTORE) /proc/PID/map_files cannot be
# opened: only the path is left.
no_admin() { setpriv --bounding-set -sys_admin,-checkpoint_restore --inh-caps -sys_admin,-checkpoint_restore -- timeout -k 5 60 "$HOTPATCH" "$@"; }
step "without CAP_SYS_ADMIN: ./app in the target's namespace is another file; refused, not read"
expect_fail 5 "cannot read $WORK/app: .* is not the file the process has mapped" no_admin -p "$pid" apply patch.so
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after the refusal"

step "without CAP_SYS_ADMIN, once ./app there is the file it runs again: by path, checked"
nsenter -t "$pid" -m umount "$WORK/app" || fail "could not remove the mount over ./app"
[ "$(stat -L -c %i /proc/$pid/root$WORK/app)" = "$(stat -c %i app-shifted)" ] || fail "./app there is not app-shifted"
expect_success no_admin -p "$pid" apply patch.so
mark_log t
expect_output t '^compute\(7\)=70$' 3
revert_ok "$pid" mntns-fix
finish_target t

# A container as a container runtime makes one: a PID namespace of its own, and a
# mount namespace whose root is a minimal tree (the program and its libraries, a
# /proc of its namespace, a tmpfs /run), with no hotpatch inside. From the host, by
# our pid:
# - the first apply needs the runtime inside; its path there names nothing: refused
#   with the reason, nothing changed;
# - with the host's build directory bind-mounted at the same path (the very file the
#   CLI checked), apply/list/revert work, `inject` starts the control server whose
#   socket is found under /proc/PID/root, and `func upgrade` runs the hotpatch found
#   inside (`-p 1`: the target, in the container's /proc).
# (The program, patch and library are hostile_pid_namespace's.)
command -v unshare >/dev/null && command -v nsenter >/dev/null && command -v chroot >/dev/null ||
  fail "unshare/nsenter (util-linux) and chroot (coreutils) are needed"
BUILD=$(cd "$(dirname "$HOTPATCH")" && pwd)
SRC=$CASE_DIR/../hostile_pid_namespace
build_target app "$SRC/target.c"
build_patch patch.so "$SRC/patch.c"
cc -shared -fPIC -O2 -o "$WORK/lib.so" "$SRC/lib.c" || fail "cannot build lib.so"

root=$WORK/root
mkdir -p "$root/proc" "$root/run"
# install_in_root FILE...: the libraries each file needs (ldd), at the same paths
# inside the tree. (Never over one already there: the running program maps it.)
install_in_root() {
  local f dep
  for f in "$@"; do
    for dep in $(ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
      [ -e "$root$dep" ] && continue
      mkdir -p "$root$(dirname "$dep")"
      cp -L "$dep" "$root$dep"
    done
  done
}
cp app lib.so "$root/"
install_in_root app
start_target t unshare --pid --fork --kill-child --mount --propagation private sh -c \
  "mount -t proc proc '$root/proc' && mount -t tmpfs -o mode=755 tmpfs '$root/run' && exec chroot '$root' /app"
wait_for_log t '^ready pid=1$'
pid=$(cat "/proc/$LAST_PID/task/$LAST_PID/children")
pid=${pid%% *}
[ -n "$pid" ] || fail "no child of unshare"
assert_eq "$root" "$(readlink /proc/$pid/root)" "the target's root"
assert_match "^NSpid:[[:space:]]+$pid[[:space:]]+1$" "$(grep NSpid /proc/$pid/status)" "the target's pids"
wait_for_log t '^tick 2 compute=21$'

step "apply: the runtime is not inside the container: refused, nothing changed"
expect_fail 5 "libhotpatch\\.so[.0-9]* is not there in its mount namespace" hp -p "$pid" apply patch.so
mark_log t
expect_output t '^tick [012] compute=21$' 6
expect_alive "$pid"

step "the host's build directory bind-mounted inside: apply, list, revert"
install_in_root "$BUILD/libhotpatch.so" "$BUILD/hotpatch"
nsenter -t "$pid" -m -- sh -c "mkdir -p '$root$BUILD' && mount --bind '$BUILD' '$root$BUILD'" ||
  fail "cannot bind-mount the build directory into the container"
apply_ok "$pid" patch.so pidns-fix
mark_log t
expect_output t '^tick [012] compute=700$' 6
expect_success hp -p "$pid" list
assert_match "^  compute \\(0x[0-9a-f]+\\) -> compute_v3 " "$LAST_OUT" "list names the patch's function"
revert_ok "$pid" pidns-fix
mark_log t
expect_output t '^tick [012] compute=21$' 6

step "inject, then func upgrade: the helper is the hotpatch inside, on process 1 of the container"
expect_success hp -p "$pid" inject
assert_match "^control server running in process $pid: /proc/$pid/root/run/hotpatch/1\\.sock$" "$LAST_OUT" "inject's socket"
expect_success hp -p "$pid" lib load l /lib.so
expect_success hp -p "$pid" func upgrade l compute compute_v2
mark_log t
expect_output t '^tick [012] compute=70$' 6
expect_success hp -p "$pid" func rollback compute
mark_log t
expect_output t '^tick [012] compute=21$' 6
finish_target t

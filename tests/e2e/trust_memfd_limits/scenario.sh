# A dlopen patch is loaded from a memfd through /proc/self/fd (docs/security.md, "The
# bytes checked are the bytes loaded"): a target whose seccomp filter forbids
# memfd_create, or that has no /proc mounted, cannot load one. apply refuses with the
# reason, and the target runs on untouched; the same patch applies to the same
# program where both are there. And lib load, which loads a library from a memfd too:
# the library's $ORIGIN is then /proc/self/fd, not its directory, so a dependency
# found only through RUNPATH=$ORIGIN is not found.
build_target target "$E2E_DIR/basic_pie/target.c" -fPIE -pie
build_patch patch.so "$E2E_DIR/trust_sign/patch.c"
cc -shared -fPIC -O2 -Wall -Werror -o no_memfd.so "$CASE_DIR/no_memfd.c" || fail "cannot build no_memfd.so"
: >policy
export HOTPATCH_POLICY=$WORK/policy

# untouched NAME PID: runs the original; no memfd of ours is mapped or left open.
untouched() {
  mark_log "$1"
  expect_output "$1" '^compute\(7\)=21$' 2
  ! grep -q 'memfd:hotpatch:' "/proc/$2/maps" || fail "a refused patch is mapped in $1"
  ! find "/proc/$2/fd" -lname '/memfd:hotpatch:*' | grep -q . || fail "a refused patch's memfd is left open in $1"
}

step "seccomp forbids memfd_create: refused, with the reason"
start_target sandboxed env LD_PRELOAD="$WORK/no_memfd.so" ./target
pid=$LAST_PID
wait_for_log sandboxed '^no_memfd: memfd_create is forbidden$'
wait_for_log sandboxed '^ready'
expect_fail 5 "^hotpatch: error: process $pid: memfd_create failed inside it \\(a seccomp filter\\?\\); the patch is loaded from a memfd only$" hp -p "$pid" apply patch.so
untouched sandboxed "$pid"

step "no /proc in the target's mount namespace: refused, with the reason"
command -v unshare >/dev/null || fail "unshare (util-linux) is needed"
start_target noproc unshare -m --propagation private sh -c 'umount -l /proc && exec ./target'
pid=$LAST_PID
wait_for_log noproc '^ready'
[ "$(readlink /proc/$pid/exe)" = "$WORK/target" ] || fail "the target is not pid $pid"
expect_fail 5 "^hotpatch: error: process $pid: dlopen of $WORK/patch.so failed inside the target: /proc/[^ ]*/fd/[0-9]+: cannot open shared object file: No such file or directory$" hp -p "$pid" apply patch.so
untouched noproc "$pid"

step "the same patch where both are there"
start_target plain ./target
pid=$LAST_PID
wait_for_log plain '^ready'
apply_ok "$pid" patch.so trust-fix
wait_for_log plain '^compute\(7\)=70$' 2

step "lib load: \$ORIGIN is not the library's directory"
EX=$(dirname "$HOTPATCH")/examples
[ -x "$EX/simple_server" ] || fail "examples not built: $EX/simple_server"
mkdir origin
printf 'int dep_value(void) { return 7; }\n' >origin/dep.c
printf 'int dep_value(void);\nint lib_value(void) { return dep_value(); }\n' >origin/lib.c
cc -shared -fPIC -o origin/libdep.so origin/dep.c || fail "cannot build libdep.so"
cc -shared -fPIC -o origin/libwithdep.so origin/lib.c -Lorigin -ldep -Wl,--enable-new-dtags,-rpath,'$ORIGIN' ||
  fail "cannot build libwithdep.so"
# Opened by its path, its $ORIGIN finds libdep.so.
assert_eq 7 "$(python3 -c 'import ctypes, sys; print(ctypes.CDLL(sys.argv[1]).lib_value())' "$WORK/origin/libwithdep.so")" \
  "lib_value() of libwithdep.so opened by its path"
start_target s "$EX/simple_server" --interval_ms=50 --minloglevel=2
spid=$LAST_PID
wait_for_log s '^ready pid='
expect_fail 8 "libdep\\.so: cannot open shared object file" hp -p "$spid" lib load withdep "$WORK/origin/libwithdep.so"
expect_success hp -p "$spid" lib list
assert_eq "no libraries loaded" "$LAST_OUT" "lib list after the failed load"
finish_target s
finish_target plain
finish_target sandboxed
finish_target noproc

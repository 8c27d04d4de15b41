# Sourced by the trust_* cases that run simple_server as nobody (65534). Everything
# nobody runs or reads comes from $WORK, laid out as the build tree (which may sit
# where nobody cannot enter, e.g. a checkout under /root):
#   stage/: simple_server, hotpatch, libhotpatch.so.0 (the helper is found next to
#           it), spy.so (trust_ptracer/spy.c) and try_attach (trust_ptracer/try_attach.c);
#   libadd_func_patch1.so, libadd_func_patch2.so, and policy (empty), which
#   $HOTPATCH_POLICY names.
# Defines as_nobody CMD..., hp_nobody ARGS... (the staged CLI as nobody) and
# start_service.
EX=$(dirname "$HOTPATCH")/examples
[ -x "$EX/simple_server" ] || fail "examples not built: $EX/simple_server"
command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed"
chmod 755 "$WORK"
cp "$EX/libadd_func_patch1.so" "$EX/libadd_func_patch2.so" .
chmod 644 lib*.so
: >policy
chmod 644 policy
export HOTPATCH_POLICY=$WORK/policy
mkdir stage
cp "$EX/simple_server" "$HOTPATCH" stage/
_runtime_file=$(readlink -f "$(dirname "$HOTPATCH")/libhotpatch.so.0")
cp "$_runtime_file" stage/
ln -s "$(basename "$_runtime_file")" stage/libhotpatch.so.0
cc -shared -fPIC -O2 -Wall -Werror -o stage/spy.so "$E2E_DIR/trust_ptracer/spy.c" || fail "cannot build spy.so"
build_target stage/try_attach "$E2E_DIR/trust_ptracer/try_attach.c"
chmod 755 stage stage/*
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
hp_nobody() { as_nobody timeout -k 5 60 "$WORK/stage/hotpatch" "$@"; }

# start_service NAME [VAR=VALUE...]: the staged simple_server as nobody, with these
# variables added to its environment; waits until it computes. SPID: its pid.
start_service() {
  local name=$1
  shift
  start_target "$name" setpriv --reuid=65534 --regid=65534 --clear-groups -- env XDG_RUNTIME_DIR= \
    LD_LIBRARY_PATH="$WORK/stage" "$@" "$WORK/stage/simple_server" --interval_ms=50 --minloglevel=2
  SPID=$LAST_PID
  wait_for_log "$name" '^ready pid='
  wait_for_log "$name" 'add_func\(1,2\)=3 '
  assert_eq 65534 "$(stat -c %u "/proc/$SPID")" "the service runs as nobody"
}

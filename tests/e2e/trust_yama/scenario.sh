# Yama's ptrace_scope (docs/security.md, "Code loading over the control socket is
# opt-in"), with a service running as nobody whose policy lets nobody load code:
# - ptrace_scope 1: a sibling process of the service's uid may not attach to it, not
#   even while the runtime's grant (PR_SET_PTRACER) is in place for a helper; the
#   helper may: func upgrade and func rollback work;
# - ptrace_scope 2 (only CAP_SYS_PTRACE may attach): the helper of a service that does
#   not run as root cannot attach, so func upgrade fails and says why, whoever asks,
#   and the service runs on unchanged; a root service's helper still can.
# ptrace_scope is machine-wide: CMakeLists.txt runs this case alone (RUN_SERIAL), and
# the value found is put back on every way out. 3 (no attaching at all) is never set:
# only a reboot undoes it. Without Yama, or without the right to set it, the case is
# skipped and says why.
YAMA=/proc/sys/kernel/yama/ptrace_scope
[ -e "$YAMA" ] || skip "this kernel has no Yama ($YAMA does not exist): ptrace_scope cannot be tested here"
orig=$(cat "$YAMA")
[ "$orig" != 3 ] || skip "ptrace_scope is 3 on this machine (no one may attach until a reboot)"
{ echo "$orig" >"$YAMA"; } 2>/dev/null || skip "cannot write $YAMA (not root in the initial namespace, or /proc/sys read-only)"
# Put back on every way out: this shell's exit (trap), and run-case.sh's cleanup in
# case this shell is killed.
on_cleanup sh -c "echo $orig >$YAMA"
trap 'echo "$orig" >"$YAMA"' EXIT
trap 'exit 143' TERM INT HUP
# set_scope N: 0, 1 or 2 only.
set_scope() {
  case $1 in 0 | 1 | 2) echo "$1" >"$YAMA" ;; *) fail "set_scope $1: refusing (only 0, 1 or 2)" ;; esac
  assert_eq "$1" "$(cat "$YAMA")" "ptrace_scope"
  note "ptrace_scope = $1"
}

source "$E2E_DIR/trust_ptracer/stage.sh"
printf 'code_loading_uids = 65534\n' >policy
# The service's helper is a wrapper (HOTPATCH_CLI) that, when $WORK/sync/hold exists,
# writes its pid and waits (at most 10 s) for $WORK/sync/go before it becomes the real
# helper (exec: the same pid, the one the grant names).
mkdir -m 777 sync
cat >stage/helper <<WRAPPER
#!/bin/sh
if [ -e "$WORK/sync/hold" ]; then
  echo \$\$ >"$WORK/sync/helper.pid"
  i=0
  while [ ! -e "$WORK/sync/go" ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
fi
exec "$WORK/stage/hotpatch" "\$@"
WRAPPER
chmod 755 stage/helper

# upgrade_and_back LOG CLI...: func upgrade p1 add_func and func rollback through CLI
# (hp or hp_nobody, with -p PID), each seen in the target's LOG.
upgrade_and_back() {
  local log=$1
  shift
  expect_success "$@" func upgrade p1 add_func
  wait_for_log "$log" 'add_func\(1,2\)=1003 '
  expect_success "$@" func rollback add_func
  wait_for_log "$log" 'add_func\(1,2\)=3 '
}

set_scope 1
start_service s LD_PRELOAD="$WORK/stage/spy.so" HOTPATCH_CLI="$WORK/stage/helper"
spid=$SPID
expect_success hp -p "$spid" lib load p1 "$WORK/libadd_func_patch1.so"

step "ptrace_scope 1: a sibling of the same uid may not attach; the runtime's helper may"
run_cmd as_nobody stage/try_attach "$spid"
assert_eq "refused: Operation not permitted" "$LAST_OUT" "a sibling process of uid 65534 attaching"
expect_success hp_nobody -p "$spid" func upgrade p1 add_func
wait_for_log s 'add_func\(1,2\)=1003 '

step "ptrace_scope 1: while the grant is in place, the sibling still may not attach"
: >sync/hold
grants_before=$(grep -c '^spy:' s.log || true)
hp_nobody -p "$spid" func rollback add_func >rollback.out 2>&1 &
rollback=$!
_deadline 15
until [ -s sync/helper.pid ] && [ "$(grep -c '^spy:' s.log)" -gt "$grants_before" ]; do
  _past "$_DEADLINE" && fail "no helper waiting with a grant after 15 s: $(cat rollback.out)"
  nap 0.05
done
helper=$(cat sync/helper.pid)
assert_match "^spy: PR_SET_PTRACER $helper by $spid: " "$(grep '^spy:' s.log | tail -n 1)" "the grant in place"
run_cmd as_nobody stage/try_attach "$spid"
assert_eq "refused: Operation not permitted" "$LAST_OUT" "a sibling attaching while helper $helper holds the grant"
rm sync/hold
: >sync/go
wait "$rollback" || fail "func rollback failed: $(cat rollback.out)"
wait_for_log s 'add_func\(1,2\)=3 '
run_cmd as_nobody stage/try_attach "$spid"
assert_eq "refused: Operation not permitted" "$LAST_OUT" "a sibling attaching after the helper exited"

step "ptrace_scope 2: the helper of a service not run as root cannot attach; func upgrade fails, nothing changes"
set_scope 2
expect_fail 8 "not permitted to trace it" hp_nobody -p "$spid" func upgrade p1 add_func
expect_fail 8 "not permitted to trace it" hp -p "$spid" func upgrade p1 add_func # root asking: the helper is still nobody
mark_log s
expect_output s 'add_func\(1,2\)=3 ' 3
run_cmd stage/try_attach "$spid"
assert_eq "attached" "$LAST_OUT" "root (CAP_SYS_PTRACE) attaching under ptrace_scope 2"

step "ptrace_scope 2: a root service's helper can"
start_target r env XDG_RUNTIME_DIR= LD_LIBRARY_PATH="$WORK/stage" "$WORK/stage/simple_server" --interval_ms=50 --minloglevel=2
rpid=$LAST_PID
wait_for_log r '^ready pid='
wait_for_log r 'add_func\(1,2\)=3 '
expect_success hp -p "$rpid" lib load p1 "$WORK/libadd_func_patch1.so"
upgrade_and_back r hp -p "$rpid"
set_scope "$orig"
finish_target r

step "back to ptrace_scope 1: nobody's func upgrade works again"
set_scope 1
upgrade_and_back s hp_nobody -p "$spid"
set_scope "$orig"
finish_target s

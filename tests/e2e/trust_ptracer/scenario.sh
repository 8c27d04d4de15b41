# Who may trace a service, and what the runtime's PR_SET_PTRACER grant names
# (docs/security.md, "Threat model" and "Code loading over the control socket is
# opt-in"), on any kernel, Yama or not (trust_yama checks what Yama then enforces):
# - another uid can neither trace the service nor talk to its socket (0600 in a 0700
#   directory);
# - an unlisted same-uid peer's func upgrade is refused before anything happens: no
#   helper, no PR_SET_PTRACER; a client's own $HOTPATCH_POLICY does not count, the
#   service's does;
# - a listed peer's func upgrade and func rollback make one grant for each helper they
#   start (upgrade: one or two), and each names its helper: a child of the service,
#   running the hotpatch program, without the service's LD_PRELOAD; never
#   PR_SET_PTRACER_ANY, never another process; lib load/unload make none.
# The grants are seen by spy.so, preloaded into the service, which logs every
# prctl(PR_SET_PTRACER, ...) with what the named pid is at that moment.
source "$E2E_DIR/trust_ptracer/stage.sh"
printf 'code_loading_uids = 65534\n' >client-policy
chmod 644 client-policy
as_stranger() { setpriv --reuid=65533 --regid=65533 --clear-groups -- "$@"; }

start_service s LD_PRELOAD="$WORK/stage/spy.so"
spid=$SPID
grep -q " $WORK/stage/spy.so$" "/proc/$spid/maps" || fail "spy.so is not loaded in the service"

step "another uid: no tracing, no socket"
run_cmd as_stranger "$WORK/stage/try_attach" "$spid"
assert_eq "refused: Operation not permitted" "$LAST_OUT" "uid 65533 attaching to a process of uid 65534"
expect_fail 3 "^hotpatch: error: process $spid: not permitted to trace it" as_stranger timeout -k 5 60 "$WORK/stage/hotpatch" \
  -p "$spid" write-code --probe 0x1000-0x1001
sock=$(hp -p "$spid" socket)
assert_eq "socket 600 65534" "$(stat -c '%F %a %u' "$sock")" "the control socket"
assert_eq "directory 700 65534" "$(stat -c '%F %a %u' "$(dirname "$sock")")" "the socket's directory"
run_cmd as_stranger sh -c "printf 'var get age\n' | nc -N -U '$sock'"
assert_match 'Permission denied' "$LAST_ERR" "uid 65533 connecting to the socket"
expect_log_lacks s '^spy:'

step "an unlisted peer of the same uid: refused before any helper or grant"
expect_success hp -p "$spid" lib load p1 "$WORK/libadd_func_patch1.so" # root may always
refusal="policy: uid 65534 may not load code into this process \\(lib load/unload and func upgrade/rollback need root, or the uid in code_loading_uids of the policy $WORK/policy\\)"
expect_fail 11 "^hotpatch: error: process $spid: $refusal$" hp_nobody -p "$spid" func upgrade p1 add_func
# The client's own policy lists it; the service reads its own.
expect_fail 11 "^hotpatch: error: process $spid: $refusal$" env HOTPATCH_POLICY="$WORK/client-policy" \
  setpriv --reuid=65534 --regid=65534 --clear-groups -- timeout -k 5 60 "$WORK/stage/hotpatch" -p "$spid" func upgrade p1 add_func
mark_log s
expect_output s 'add_func\(1,2\)=3 ' 2
expect_log_lacks s '^spy:'

step "a listed peer: every helper of func upgrade/rollback gets a grant naming it alone"
printf 'code_loading_uids = 65534\n' >policy
# check_grants: every logged grant names a distinct helper: a process other than
# PR_SET_PTRACER_ANY (-1), a child of the service, running the hotpatch program, without
# the service's LD_PRELOAD. Sets GRANTS to how many there are.
check_grants() {
  local line named by parent program preload
  declare -A seen=()
  GRANTS=0
  while IFS= read -r line; do
    [[ $line =~ ^spy:\ PR_SET_PTRACER\ ([-0-9]+)\ by\ ([0-9]+):\ parent\ ([-0-9]+),\ program\ (.*),\ LD_PRELOAD\ (set|unset)$ ]] ||
      fail "not a grant line: '$line'"
    named=${BASH_REMATCH[1]} by=${BASH_REMATCH[2]} parent=${BASH_REMATCH[3]} program=${BASH_REMATCH[4]} preload=${BASH_REMATCH[5]}
    [ "$named" -gt 1 ] || fail "a grant names $named (PR_SET_PTRACER_ANY is -1), not one process: '$line'"
    assert_eq "$spid" "$by" "the process making the grant"
    assert_eq "$spid" "$parent" "the parent of the process the grant names (the helper is the service's child)"
    assert_eq "$WORK/stage/hotpatch" "$program" "the program of the process the grant names"
    assert_eq unset "$preload" "LD_PRELOAD in the process the grant names"
    [ -z "${seen[$named]:-}" ] || fail "two grants name the same process $named"
    seen[$named]=1
    GRANTS=$((GRANTS + 1))
  done < <(grep '^spy:' "$WORK/s.log")
}
expect_success hp_nobody -p "$spid" func upgrade p1 add_func
wait_for_log s 'add_func\(1,2\)=1003 '
check_grants
[ "$GRANTS" -ge 1 ] || fail "func upgrade by nobody made no grant"
after_upgrade=$GRANTS
note "func upgrade: $GRANTS grants, each naming its helper"
expect_success hp_nobody -p "$spid" func rollback add_func
wait_for_log s 'add_func\(1,2\)=3 '
check_grants
[ "$GRANTS" -gt "$after_upgrade" ] || fail "func rollback by nobody made no grant"
note "func rollback: $((GRANTS - after_upgrade)) more, each naming a new helper"
# The helpers are gone (Yama drops a grant when the process it names exits).
for helper in $(sed -nE 's/^spy: PR_SET_PTRACER ([0-9]+) .*/\1/p' s.log); do
  [ "$(awk '{print $4}' "/proc/$helper/stat" 2>/dev/null)" != "$spid" ] || fail "helper $helper is still a child of the service"
done
before=$GRANTS
expect_success hp -p "$spid" lib unload p1
check_grants
assert_eq "$before" "$GRANTS" "grants after lib unload (it starts no helper)"
finish_target s

# Code loading over the control socket is opt-in (docs/security.md): a process of
# the service's own uid (here nobody, 65534) may read and set its variables, but its
# lib load, lib unload, func upgrade and func rollback are refused (exit 11) unless
# the policy lists the uid in code_loading_uids; root may always. The policy is read
# by the runtime from the service's environment, anew for every command.
source "$E2E_DIR/trust_ptracer/stage.sh" # the service's files, as_nobody, hp_nobody, start_service
start_service s
spid=$SPID
grep -q " $WORK/stage/libhotpatch" "/proc/$spid/maps" || fail "the service does not run the staged runtime"

step "the same uid, not listed: variables yes, code no; the process is not changed"
expect_success hp_nobody -p "$spid" var set int age 33
wait_for_log s '^user_name=.* age=33 '
refusal="policy: uid 65534 may not load code into this process \\(lib load/unload and func upgrade/rollback need root, or the uid in code_loading_uids of the policy $WORK/policy\\)"
expect_fail 11 "^hotpatch: error: process $spid: $refusal$" hp_nobody -p "$spid" lib load p1 "$WORK/libadd_func_patch1.so"
expect_fail 11 "$refusal" hp_nobody -p "$spid" func upgrade p1 add_func
# The raw socket says the same: ERR policy: ...
sock=$(hp -p "$spid" socket)
assert_match "^ERR $refusal$" "$(printf 'lib load p1 %s\n' "$WORK/libadd_func_patch1.so" | as_nobody timeout 5 nc -N -U "$sock")" "raw lib load"
expect_success hp -p "$spid" lib list
assert_eq "no libraries loaded" "$LAST_OUT" "lib list after the refusals"
! grep -q 'memfd:hotpatch-lib\|libadd_func' "/proc/$spid/maps" || fail "a refused library is mapped"
mark_log s
expect_output s 'add_func\(1,2\)=3 ' 3

step "root may, without any policy entry; then nobody may not take it back"
expect_success hp -p "$spid" lib load p1 "$WORK/libadd_func_patch1.so"
expect_success hp -p "$spid" func upgrade p1 add_func
wait_for_log s 'add_func\(1,2\)=1003 '
expect_fail 11 "$refusal" hp_nobody -p "$spid" func rollback add_func
expect_fail 11 "$refusal" hp_nobody -p "$spid" lib unload p1
mark_log s
expect_output s 'add_func\(1,2\)=1003 ' 3
expect_success hp -p "$spid" func rollback add_func
wait_for_log s 'add_func\(1,2\)=3 '
expect_success hp -p "$spid" lib unload p1

step "listed in code_loading_uids: the same uid may load, upgrade, roll back, unload"
printf 'code_loading_uids = 1000, 65534\n' >policy
expect_success hp_nobody -p "$spid" lib load p2 "$WORK/libadd_func_patch2.so"
assert_eq "loaded p2 $WORK/libadd_func_patch2.so" "$LAST_OUT" "lib load by nobody"
grep -q '/memfd:hotpatch-lib:p2 (deleted)$' "/proc/$spid/maps" || fail "p2 is not mapped from its memfd"
expect_success hp_nobody -p "$spid" func upgrade p2 add_func add_func_v2
wait_for_log s 'add_func\(1,2\)=2003 '
expect_success hp_nobody -p "$spid" func rollback add_func
wait_for_log s 'add_func\(1,2\)=3 '
expect_success hp_nobody -p "$spid" lib unload p2

step "the policy is read for every command: taken off the list, refused again"
printf 'code_loading_uids = 1000\n' >policy
expect_fail 11 "$refusal" hp_nobody -p "$spid" lib load p2 "$WORK/libadd_func_patch2.so"
printf 'code_loading_uids = 65534\nbogus = 1\n' >policy
expect_fail 11 "^hotpatch: error: process $spid: policy: $WORK/policy:2: unknown key 'bogus'" hp_nobody -p "$spid" lib load p2 "$WORK/libadd_func_patch2.so"
expect_fail 11 "policy: $WORK/policy:2: unknown key 'bogus'" hp -p "$spid" lib load p2 "$WORK/libadd_func_patch2.so"
expect_success hp_nobody -p "$spid" var get age
assert_eq 33 "$LAST_OUT" "variables do not depend on the policy"
finish_target s

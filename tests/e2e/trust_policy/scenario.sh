# require_signature = yes (docs/security.md, "The policy file"): apply, check,
# install-patch, the agent and the runtime's lib load and func upgrade refuse an
# unsigned patch or library (exit 11, or the agent skips it), and nothing in the
# target changes; signed by a trusted key, each goes through. A policy file with a
# mistake, or one others could edit, refuses everything, naming the file and line; so
# does the agent a patch directory others could write.
build_unique_target svc "$E2E_DIR/ops_agent/target.c"
build_patch patch.so "$E2E_DIR/ops_many/patch.c" -DBUILD_ID="\"$(build_id_of svc)\""
mkdir keys trusted
hp keygen --out keys/release >/dev/null
cp keys/release.pub trusted/
cp patch.so signed.so
expect_success hp sign --key keys/release.key signed.so
printf 'require_signature = yes\ntrusted_keys = %s\n' "$WORK/trusted" >policy
export HOTPATCH_POLICY=$WORK/policy
store=$WORK/patches

start_target t ./svc
pid=$LAST_PID
wait_for_log t '^first compute\(7\)=21 '

step "apply and check refuse an unsigned patch; the target is not touched"
expect_fail 11 "^hotpatch: error: $WORK/patch.so: not signed, and the policy $WORK/policy requires signatures \\(hotpatch sign\\)$" \
  hp -p "$pid" apply patch.so
expect_fail 11 "$WORK/patch.so: not signed, and the policy $WORK/policy requires signatures" hp -p "$pid" check patch.so
expect_fail 11 "not signed" hp -p "$pid" apply patch.so --json
assert_match '"exit_code":11' "$LAST_OUT" "apply --json of a refused patch"
expect_fail 11 "not signed" hp -p all apply patch.so
! grep -q libhotpatch "/proc/$pid/maps" || fail "a refused apply loaded the runtime into the target"
mark_log t
expect_output t '^compute\(7\)=21$' 2

step "install-patch refuses it too"
expect_fail 11 "not signed, and the policy" hp install-patch --patch-dir "$store" patch.so
[ ! -e "$store/fix-compute.so" ] || fail "a refused patch was installed"

step "signed by a trusted key: check, apply, revert"
expect_success hp -p "$pid" check signed.so
apply_ok "$pid" signed.so fix-compute
wait_for_log t '^compute\(7\)=70$' 2
revert_ok "$pid" fix-compute
wait_for_log t '^compute\(7\)=21$' 2

step "a policy with a mistake, or that others could edit, refuses everything"
printf 'require_signature = yes\ntrusted_keys = %s\nrequire_signatures = no\n' "$WORK/trusted" >policy
expect_fail 11 "^hotpatch: error: trust policy: $WORK/policy:3: unknown key 'require_signatures' \\(known: require_signature, trusted_keys, code_loading_uids\\)$" \
  hp -p "$pid" apply signed.so
printf 'require_signature = yes\n' >policy
expect_fail 11 "trust policy: $WORK/policy: require_signature = yes needs trusted_keys" hp -p "$pid" apply signed.so
printf 'require_signature = yes\ntrusted_keys = %s\n' "$WORK/trusted" >policy
chmod 666 policy
expect_fail 11 "trust policy: $WORK/policy: writable by other users \\(mode 666\\); refusing to trust it" hp -p "$pid" apply signed.so
chmod 644 policy
chmod 777 trusted
expect_fail 11 "cannot check the signer against trusted_keys: $WORK/trusted: writable by other users" hp -p "$pid" apply signed.so
chmod 755 trusted
expect_fail 11 "trust policy: $WORK/none: No such file or directory" env HOTPATCH_POLICY="$WORK/none" "$HOTPATCH" -p "$pid" apply signed.so
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after the refusals"

step "the agent skips an unsigned installed patch, applies a signed one"
: >open
HOTPATCH_POLICY=$WORK/open expect_success hp install-patch --patch-dir "$store" patch.so # installed under an open policy
# A patch directory others could write is no source of patches, whatever its files say.
chmod 777 "$store"
expect_fail 4 "$store: writable by other users \\(owner uid 0, mode 777\\); refusing to take patches from it" \
  timeout -k 5 60 "$HOTPATCH" agent --patch-dir "$store" --run-dir "$WORK/run" --log stderr
expect_fail 4 "$store: writable by other users" hp install-patch --patch-dir "$store" signed.so
chmod 755 "$store"
start_target agent "$HOTPATCH" agent --patch-dir "$store" --run-dir "$WORK/run" --log stderr
wait_for_log agent '^hotpatch-agent: ready: watching process starts; 0 patches in ' 10
assert_match "^hotpatch-agent: $store/fix-compute.so: not signed, and the policy $WORK/policy requires signatures \\(hotpatch sign\\); skipped$" \
  "$(cat agent.log)" "the agent's warning"
start_target t2 ./svc
wait_for_log t2 '^first compute\(7\)=21 ' 10
expect_output t2 '^compute\(7\)=21$' 3
! grep -q libhotpatch "/proc/$(pid_of t2)/maps" || fail "the agent loaded something into a process for a refused patch"
stop_target t2
expect_success hp install-patch --patch-dir "$store" signed.so
wait_for_log agent '^hotpatch-agent: patches: fix-compute$' 10
start_target t3 ./svc
wait_for_log t3 '^first compute\(7\)=70 ' 10
stop_target t3
stop_target agent

step "lib load refuses an unsigned library; func upgrade needs a library signed by a key trusted now"
EX=$(dirname "$HOTPATCH")/examples
[ -x "$EX/simple_server" ] || fail "examples not built: $EX/simple_server"
cp "$EX/libadd_func_patch1.so" "$EX/libadd_func_patch2.so" .
cp libadd_func_patch1.so libsigned.so
expect_success hp sign --key keys/release.key libsigned.so
start_target s "$EX/simple_server" --interval_ms=50 --minloglevel=2 # HOTPATCH_POLICY is in its environment
spid=$LAST_PID
wait_for_log s '^ready pid='
wait_for_log s 'add_func\(1,2\)=3 '
expect_fail 11 "^hotpatch: error: process $spid: policy: $WORK/libadd_func_patch1.so: not signed, and the policy $WORK/policy requires signatures" \
  hp -p "$spid" lib load p1 "$WORK/libadd_func_patch1.so"
expect_success hp -p "$spid" lib list
assert_eq "no libraries loaded" "$LAST_OUT" "lib list after the refusal"
! grep -q 'libadd_func_patch1\|memfd:hotpatch-lib' "/proc/$spid/maps" || fail "the refused library is mapped"
expect_success hp -p "$spid" lib load signed "$WORK/libsigned.so"
assert_match "^loaded signed $WORK/libsigned.so \\(signed by key [0-9a-f]{16}\\)$" "$LAST_OUT" "lib load of a signed library"
grep -q '/memfd:hotpatch-lib:signed (deleted)$' "/proc/$spid/maps" || fail "the library is not mapped from its memfd"
expect_success python3 "$E2E_DIR/trust_sign/sealed.py" "$spid" hotpatch-lib:signed
expect_success hp -p "$spid" func upgrade signed add_func
wait_for_log s 'add_func\(1,2\)=1003 '
expect_success hp -p "$spid" func rollback add_func
wait_for_log s 'add_func\(1,2\)=3 '
# A library loaded while the policy allowed it is no key to func upgrade once it does not.
: >policy
expect_success hp -p "$spid" lib load p2 "$WORK/libadd_func_patch2.so"
printf 'require_signature = yes\ntrusted_keys = %s\n' "$WORK/trusted" >policy
expect_fail 11 "policy: library 'p2' \\($WORK/libadd_func_patch2.so\\) is not signed, and the policy $WORK/policy requires signatures" \
  hp -p "$spid" func upgrade p2 add_func add_func_v2
mark_log s
expect_output s 'add_func\(1,2\)=3 ' 3
expect_success hp -p "$spid" lib unload p2
expect_success hp -p "$spid" lib unload signed
finish_target s
finish_target t

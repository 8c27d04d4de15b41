# The audit trail (docs/security.md, "Audit trail"): apply, revert, refusals by the
# policy, and the runtime's lib load, func upgrade, func rollback and lib unload each
# leave one journal record with who (uid, pid, executable), what (patch id, SHA-256,
# signer), where (pid, executable, build-id), result and pause.
#
# The journal is the test's own: everything runs in a private mount namespace whose
# /run is a fresh tmpfs, where journal.py listens on /run/systemd/journal/socket (the
# path journald's native protocol uses) and writes each record it gets to
# journal.jsonl. The machine's journal, if any, sees none of this.
command -v unshare >/dev/null && command -v nsenter >/dev/null || fail "unshare/nsenter (util-linux) are needed"
build_target target "$E2E_DIR/basic_pie/target.c" -fPIE -pie
build_patch patch.so "$E2E_DIR/trust_sign/patch.c"
build_patch wrong-build.so "$E2E_DIR/ops_many/patch.c" -DBUILD_ID='"00112233445566778899aabbccddeeff00112233"'
mkdir keys trusted
hp keygen --out keys/release >/dev/null
cp keys/release.pub trusted/
cp patch.so signed.so
expect_success hp sign --key keys/release.key signed.so
key_id=$(sed -nE 's/.* with key ([0-9a-f]{16}) .*/\1/p' <<<"$LAST_OUT")
cp signed.so flipped.so
printf '\xff' | dd of=flipped.so bs=1 seek=100 conv=notrunc status=none
printf 'trusted_keys = %s\n' "$WORK/trusted" >policy
export HOTPATCH_POLICY=$WORK/policy
hotpatch_exe=$(realpath "$HOTPATCH")

start_target journal unshare -m --propagation private sh -c \
  "mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p /run/systemd/journal && exec python3 '$CASE_DIR/journal.py' /run/systemd/journal/socket '$WORK/journal.jsonl'"
ns=$LAST_PID
wait_for_log journal '^listening$' 10
[ "$(readlink /proc/$ns/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || fail "the journal does not run in a namespace of its own"
in_ns() { nsenter -t "$ns" -m --wd="$WORK" -- "$@"; }
hp_ns() { in_ns timeout -k 5 60 "$HOTPATCH" "$@"; }

# expect_record KEY=REGEX...: a record with all of these arrives (within 5 s).
expect_record() {
  local end
  _deadline 5
  end=$_DEADLINE
  until python3 "$CASE_DIR/record.py" journal.jsonl "$@" >record.out 2>record.err; do
    _past "$end" && { cat record.err >&2; fail "no audit record with: $*"; }
    nap 0.05
  done
  note "record: $(cat record.out)"
}

start_target t nsenter -t "$ns" -m --wd="$WORK" -- ./target
pid=$LAST_PID
wait_for_log t '^ready'
build_id=$(build_id_of target)

step "apply: who, what, where, result, pause"
expect_success hp_ns -p "$pid" apply signed.so
expect_record SYSLOG_IDENTIFIER=hotpatch SYSLOG_FACILITY=10 PRIORITY=5 HOTPATCH_ACTION=apply HOTPATCH_RESULT=ok \
  HOTPATCH_CALLER_UID=0 "HOTPATCH_CALLER_PID=[0-9]+" "HOTPATCH_CALLER_EXE=$hotpatch_exe" \
  HOTPATCH_PATCH_ID=trust-fix "HOTPATCH_PATCH_PATH=$WORK/signed.so" "HOTPATCH_PATCH_SHA256=$(sha256sum signed.so | cut -c1-64)" \
  "HOTPATCH_SIGNER=$key_id" "HOTPATCH_TARGET_PID=$pid" "HOTPATCH_TARGET_EXE=$WORK/target" "HOTPATCH_TARGET_BUILD_ID=$build_id" \
  "HOTPATCH_PAUSE_US=[0-9]+" "MESSAGE=apply ok: trust-fix \\(sha256 [0-9a-f]{16}, signed by $key_id\\) in process $pid \\($WORK/target\\) by uid 0 pid [0-9]+, paused [0-9]+ us"
# Again, as root by way of sudo: uid 0, and the login uid of the user who logged in
# (set once per session by pam_loginuid; set here by hand, where the kernel lets us).
if in_ns sh -c 'echo 1000 >/proc/self/loginuid' 2>/dev/null; then
  expect_success in_ns sh -c "echo 1000 >/proc/self/loginuid && exec timeout -k 5 60 '$HOTPATCH' -p $pid apply signed.so"
  expect_record HOTPATCH_ACTION=apply HOTPATCH_RESULT=already-applied HOTPATCH_PATCH_ID=trust-fix "HOTPATCH_TARGET_PID=$pid" \
    HOTPATCH_CALLER_UID=0 HOTPATCH_CALLER_LOGINUID=1000
else
  note "SKIP (login uid): this kernel does not let us set /proc/self/loginuid; checking already-applied only"
  expect_success hp_ns -p "$pid" apply signed.so
  expect_record HOTPATCH_ACTION=apply HOTPATCH_RESULT=already-applied HOTPATCH_PATCH_ID=trust-fix "HOTPATCH_TARGET_PID=$pid"
fi

step "revert"
expect_success hp_ns -p "$pid" revert trust-fix
expect_record SYSLOG_IDENTIFIER=hotpatch HOTPATCH_ACTION=revert HOTPATCH_RESULT=ok HOTPATCH_PATCH_ID=trust-fix HOTPATCH_CALLER_UID=0 \
  "HOTPATCH_TARGET_PID=$pid" "HOTPATCH_TARGET_BUILD_ID=$build_id" "HOTPATCH_PAUSE_US=[0-9]+"
expect_fail 7 "no patch 'trust-fix' is applied" hp_ns -p "$pid" revert trust-fix
expect_record HOTPATCH_ACTION=revert HOTPATCH_RESULT=failed HOTPATCH_PATCH_ID=trust-fix "HOTPATCH_ERROR=.*no patch 'trust-fix' is applied.*" PRIORITY=4

step "a failed apply and refusals by the policy"
expect_fail 5 "build-id mismatch" hp_ns -p "$pid" apply wrong-build.so
expect_record HOTPATCH_ACTION=apply HOTPATCH_RESULT=failed HOTPATCH_PATCH_ID=fix-compute "HOTPATCH_ERROR=.*build-id mismatch.*" \
  HOTPATCH_SIGNER=none "HOTPATCH_TARGET_PID=$pid"
expect_fail 11 "does not verify" hp_ns -p "$pid" apply flipped.so
expect_record HOTPATCH_ACTION=apply HOTPATCH_RESULT=refused PRIORITY=4 "HOTPATCH_PATCH_PATH=$WORK/flipped.so" \
  "HOTPATCH_PATCH_SHA256=$(sha256sum flipped.so | cut -c1-64)" "HOTPATCH_SIGNER=[0-9a-f]{16}" \
  "HOTPATCH_ERROR=$WORK/flipped.so: the signature by key [0-9a-f]{16} does not verify: the file was changed after it was signed" \
  HOTPATCH_CALLER_UID=0 "HOTPATCH_CALLER_EXE=$hotpatch_exe"
printf 'require_signature = yes\ntrusted_keys = %s\n' "$WORK/trusted" >policy
expect_fail 11 "not signed" hp_ns -p "$pid" check patch.so
expect_record HOTPATCH_ACTION=check HOTPATCH_RESULT=refused "HOTPATCH_PATCH_PATH=$WORK/patch.so" HOTPATCH_SIGNER=none \
  "HOTPATCH_ERROR=.*not signed, and the policy $WORK/policy requires signatures.*"
expect_fail 11 "not signed" hp_ns install-patch --patch-dir "$WORK/store" patch.so
expect_record HOTPATCH_ACTION=install-patch HOTPATCH_RESULT=refused "HOTPATCH_PATCH_PATH=$WORK/patch.so" HOTPATCH_SIGNER=none \
  "HOTPATCH_ERROR=.*not signed, and the policy $WORK/policy requires signatures.*"
# Installed while the policy allowed it, read by `patches` (as by the agent) once it does not.
: >open
HOTPATCH_POLICY=$WORK/open expect_success hp_ns install-patch --patch-dir "$WORK/store" wrong-build.so
run_cmd hp_ns patches --patch-dir "$WORK/store"
expect_record HOTPATCH_ACTION=installed-patch HOTPATCH_RESULT=refused "HOTPATCH_PATCH_PATH=$WORK/store/fix-compute.so" \
  HOTPATCH_SIGNER=none "HOTPATCH_ERROR=.*not signed, and the policy $WORK/policy requires signatures.*"

step "the runtime: lib load, func upgrade, func rollback, lib unload, a failed func upgrade, a refused lib load"
EX=$(dirname "$HOTPATCH")/examples
[ -x "$EX/simple_server" ] || fail "examples not built: $EX/simple_server"
cp "$EX/libadd_func_patch1.so" libsigned.so
cp "$EX/libadd_func_patch2.so" libunsigned.so
expect_success hp sign --key keys/release.key libsigned.so
start_target s nsenter -t "$ns" -m --wd="$WORK" -- "$EX/simple_server" --interval_ms=50 --minloglevel=2
spid=$LAST_PID
wait_for_log s '^ready pid='
server=$(realpath "$EX/simple_server")
server_id=$(build_id_of "$server")
expect_success hp_ns -p "$spid" lib load p1 "$WORK/libsigned.so"
expect_record SYSLOG_IDENTIFIER=libhotpatch HOTPATCH_ACTION=lib-load HOTPATCH_RESULT=ok HOTPATCH_PATCH_ID=p1 \
  "HOTPATCH_PATCH_PATH=$WORK/libsigned.so" "HOTPATCH_PATCH_SHA256=$(sha256sum libsigned.so | cut -c1-64)" "HOTPATCH_SIGNER=$key_id" \
  HOTPATCH_CALLER_UID=0 "HOTPATCH_CALLER_PID=[0-9]+" "HOTPATCH_CALLER_EXE=$hotpatch_exe" \
  "HOTPATCH_TARGET_PID=$spid" "HOTPATCH_TARGET_EXE=$server" "HOTPATCH_TARGET_BUILD_ID=$server_id"
expect_success hp_ns -p "$spid" func upgrade p1 add_func
wait_for_log s 'add_func\(1,2\)=1003 '
expect_record SYSLOG_IDENTIFIER=libhotpatch HOTPATCH_ACTION=func-upgrade HOTPATCH_RESULT=ok HOTPATCH_PATCH_ID=func:add_func \
  "HOTPATCH_SIGNER=$key_id" "HOTPATCH_PAUSE_US=[0-9]+" "HOTPATCH_TARGET_PID=$spid" HOTPATCH_CALLER_UID=0
expect_success hp_ns -p "$spid" func rollback add_func
expect_record HOTPATCH_ACTION=func-rollback HOTPATCH_RESULT=ok HOTPATCH_PATCH_ID=func:add_func "HOTPATCH_PAUSE_US=[0-9]+" \
  "HOTPATCH_TARGET_PID=$spid"
run_cmd hp_ns -p "$spid" func upgrade nosuch add_func
[ "$LAST_RC" -ne 0 ] || fail "func upgrade into a library never loaded succeeded"
expect_record HOTPATCH_ACTION=func-upgrade HOTPATCH_RESULT=failed PRIORITY=4 HOTPATCH_PATCH_ID=func:add_func \
  "HOTPATCH_ERROR=no library named 'nosuch' is loaded.*" "HOTPATCH_TARGET_PID=$spid"
expect_success hp_ns -p "$spid" lib unload p1
expect_record HOTPATCH_ACTION=lib-unload HOTPATCH_RESULT=ok HOTPATCH_PATCH_ID=p1 "HOTPATCH_SIGNER=$key_id" "HOTPATCH_TARGET_PID=$spid"
expect_fail 11 "policy: $WORK/libunsigned.so: not signed" hp_ns -p "$spid" lib load p2 "$WORK/libunsigned.so"
expect_record SYSLOG_IDENTIFIER=libhotpatch HOTPATCH_ACTION=lib-load HOTPATCH_RESULT=refused PRIORITY=4 HOTPATCH_PATCH_ID=p2 \
  HOTPATCH_SIGNER=none "HOTPATCH_PATCH_SHA256=$(sha256sum libunsigned.so | cut -c1-64)" \
  "HOTPATCH_ERROR=policy: $WORK/libunsigned.so: not signed, and the policy $WORK/policy requires signatures.*"
finish_target s
finish_target t

# Where the policy is (docs/security.md, "The policy file"): without $HOTPATCH_POLICY
# the CLI reads /etc/hotpatch/policy, and no file there means the defaults (unsigned
# patches load, a signed file must still verify). The machine's /etc is not touched:
# the CLI runs in a private mount namespace where /etc is an overlay of the real one
# and /etc/hotpatch an empty tmpfs of the test's own.
command -v unshare >/dev/null && command -v nsenter >/dev/null || fail "unshare/nsenter (util-linux) are needed"
build_target target "$E2E_DIR/basic_pie/target.c" -fPIE -pie
build_patch patch.so "$E2E_DIR/trust_sign/patch.c"
mkdir keys trusted
hp keygen --out keys/release >/dev/null
cp keys/release.pub trusted/
cp patch.so signed.so
hp sign --key keys/release.key signed.so >/dev/null
cp signed.so flipped.so
printf '\xff' | dd of=flipped.so bs=1 seek=100 conv=notrunc status=none
unset HOTPATCH_POLICY

mkdir ovl
start_target ns unshare -m --propagation private sh -c "set -e
  mount -t tmpfs tmpfs '$WORK/ovl'
  mkdir '$WORK/ovl/upper' '$WORK/ovl/work'
  mount -t overlay overlay -o 'lowerdir=/etc,upperdir=$WORK/ovl/upper,workdir=$WORK/ovl/work' /etc
  [ \"\$(findmnt -n -o FSTYPE /etc)\" = overlay ]
  mkdir -p /etc/hotpatch
  mount -t tmpfs -o mode=755 tmpfs /etc/hotpatch
  echo ready
  exec sleep 600"
ns=$LAST_PID
wait_for_log ns '^ready$' 10
in_ns() { nsenter -t "$ns" -m --wd="$WORK" -- "$@"; }
hp_ns() { in_ns timeout -k 5 60 "$HOTPATCH" "$@"; }
assert_eq "" "$(in_ns ls -A /etc/hotpatch)" "/etc/hotpatch in the namespace"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'

step "no /etc/hotpatch/policy: the defaults"
expect_fail 11 "flipped.so: the signature by key [0-9a-f]{16} does not verify" hp_ns -p "$pid" apply flipped.so
expect_success hp_ns info signed.so
assert_match '^  signature: key [0-9a-f]{16}, verifies \(the policy names no trusted keys\)$' "$LAST_OUT" "info under no policy"
expect_success hp_ns -p "$pid" apply patch.so
wait_for_log t '^compute\(7\)=70$' 2
expect_success hp_ns -p "$pid" revert trust-fix
wait_for_log t '^compute\(7\)=21$' 2

step "/etc/hotpatch/policy is read when \$HOTPATCH_POLICY is not set"
printf 'require_signature = yes\ntrusted_keys = %s\n' "$WORK/trusted" | in_ns sh -c 'cat >/etc/hotpatch/policy'
in_ns chmod 644 /etc/hotpatch/policy
expect_fail 11 "^hotpatch: error: $WORK/patch.so: not signed, and the policy /etc/hotpatch/policy requires signatures \\(hotpatch sign\\)$" \
  hp_ns -p "$pid" apply patch.so
mark_log t
expect_output t '^compute\(7\)=21$' 2
expect_success hp_ns -p "$pid" apply signed.so
wait_for_log t '^compute\(7\)=70$' 2
expect_success hp_ns -p "$pid" revert trust-fix
in_ns chmod 666 /etc/hotpatch/policy
expect_fail 11 "trust policy: /etc/hotpatch/policy: writable by other users \\(mode 666\\); refusing to trust it" \
  hp_ns -p "$pid" apply signed.so
finish_target t

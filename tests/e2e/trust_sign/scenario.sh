# Signed patches (docs/security.md): keygen, sign, verify and info; a signed file
# with one byte changed in its code, in its .hotpatch records or in the signature is
# refused by verify and by apply (exit 11) and the target runs on unchanged; a key
# that is not in trusted_keys is refused; the bytes apply loads are the bytes it
# checked, even when the file is rewritten in between, and they sit in a sealed memfd
# no one can change; create --sign.
build_target target "$E2E_DIR/basic_pie/target.c" -fPIE -pie # the same program as basic_pie
build_patch patch.so "$CASE_DIR/patch.c"
build_patch evil.so "$CASE_DIR/patch.c" -DEVIL
: >policy
export HOTPATCH_POLICY=$WORK/policy # empty: the defaults, whatever this machine has in /etc

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21$' 2

# unchanged: the target runs the original, nothing of ours is in it.
unchanged() {
  mark_log t
  expect_output t '^compute\(7\)=21$' 2
  expect_success hp -p "$pid" list
  assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after a refusal"
  ! grep -q 'memfd:hotpatch' "/proc/$pid/maps" || fail "a refused patch is mapped: $(grep memfd "/proc/$pid/maps")"
  expect_log_lacks t '^BAD'
}

# flip FILE OFFSET: inverts the bits of one byte.
flip() {
  python3 -c '
import sys
path, at = sys.argv[1], int(sys.argv[2], 0)
with open(path, "r+b") as f:
    f.seek(at); b = f.read(1); f.seek(at); f.write(bytes([b[0] ^ 0xff]))' "$1" "$2"
}

step "keygen"
mkdir keys other
expect_success hp keygen --out keys/release
assert_match '^wrote keys/release\.key \(secret, mode 600\) and keys/release\.pub: key id [0-9a-f]{16}$' "$LAST_OUT" "keygen"
key_id=$(sed -nE 's/.*key id ([0-9a-f]{16})$/\1/p' <<<"$LAST_OUT")
assert_eq "-rw-------" "$(stat -c %A keys/release.key)" "secret key mode"
assert_match '^hotpatch-ed25519 [0-9a-f]{64} release$' "$(cat keys/release.pub)" "public key file"
assert_match '^hotpatch-ed25519-secret [0-9a-f]{128}$' "$(cat keys/release.key)" "secret key file"
expect_fail 2 'keys/release.pub exists; refusing to overwrite a key' hp keygen --out keys/release
expect_success hp keygen --out other/stranger

step "sign, verify, info"
expect_success hp info patch.so
assert_match '^  signature: none \(unsigned\)$' "$LAST_OUT" "info of an unsigned patch"
expect_fail 11 'patch.so: not signed$' hp verify patch.so
unsigned_size=$(stat -c %s patch.so)
cp patch.so signed.so
chmod 644 keys/release.key
expect_fail 2 'readable or writable by other users \(mode 644\); chmod 600 it' hp sign --key keys/release.key signed.so
chmod 600 keys/release.key
chown 65534 keys/release.key
expect_fail 2 'keys/release.key: owned by uid 65534, not by you \(uid 0\)$' hp sign --key keys/release.key signed.so
chown 0 keys/release.key
expect_success hp sign --key keys/release.key signed.so
assert_match "^signed signed.so with key $key_id \\(sha256 [0-9a-f]{64}\\)$" "$LAST_OUT" "sign"
assert_eq $((unsigned_size + 128)) "$(stat -c %s signed.so)" "a signed file is the file and a 128-byte trailer"
cmp -s -n "$unsigned_size" patch.so signed.so || fail "signing changed the file's content"
expect_success hp verify signed.so --key keys/release.pub
assert_eq "signed.so: good signature by key $key_id, the key in keys/release.pub" "$LAST_OUT" "verify --key"
expect_success hp verify signed.so
assert_match "good signature by key $key_id \\(not checked against trusted keys" "$LAST_OUT" "verify without keys"
expect_fail 11 "signed.so: signed by key $key_id, not by other/stranger.pub" hp verify signed.so --key other/stranger.pub
expect_success hp info signed.so
assert_match "^  signature: key $key_id, verifies \\(the policy names no trusted keys\\)$" "$LAST_OUT" "info of a signed patch"
assert_match "^  file: $WORK/signed.so \\(sha256 $(sha256sum signed.so | cut -c1-64)\\)$" "$LAST_OUT" "info: sha256"
expect_success hp info signed.so --json
assert_match "\"signature\":\\{\"signer\":\"$key_id\",\"state\":\"valid\",\"trusted\":null\\}" "$LAST_OUT" "info --json"
# Signing again replaces the signature: still one trailer.
cp signed.so resigned.so
expect_success hp sign --key other/stranger.key resigned.so
assert_match "replacing the signature by key $key_id" "$LAST_OUT" "re-sign"
assert_eq $((unsigned_size + 128)) "$(stat -c %s resigned.so)" "a re-signed file has one trailer"

step "one byte changed anywhere is refused, and the target is not touched"
code_at=$(objdump -d -F patch.so | sed -nE 's/^[0-9a-f]+ <compute_v2> \(File Offset: (0x[0-9a-f]+)\):$/\1/p')
records_at=0x$(objdump -h patch.so | awk '$2 == ".hotpatch" {print $6}')
[ -n "$code_at" ] && [ "$records_at" != 0x ] || fail "cannot find compute_v2 ($code_at) or .hotpatch ($records_at) in patch.so"
for where in "code:$code_at" "records:$((records_at + 8))" "signature:$(($(stat -c %s signed.so) - 1))" \
  "public-key:$((unsigned_size + 40))"; do
  name=${where%%:*}
  cp signed.so "flipped-$name.so"
  flip "flipped-$name.so" "${where#*:}"
  expect_fail 11 "flipped-$name.so: the signature by key [0-9a-f]{16} does not verify: the file was changed after it was signed" \
    hp verify "flipped-$name.so"
  expect_fail 11 "flipped-$name.so: the signature by key [0-9a-f]{16} does not verify" hp -p "$pid" apply "flipped-$name.so"
  expect_fail 11 "does not verify" hp -p "$pid" check "flipped-$name.so"
  expect_success hp info "flipped-$name.so"
  assert_match '^  signature: key [0-9a-f]{16}, DOES NOT VERIFY: the file was changed after it was signed \(refused\)$' \
    "$LAST_OUT" "info of flipped-$name.so"
done
# Bytes removed before the trailer: its length no longer matches.
python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); open(sys.argv[2], "wb").write(d[:100] + d[101:])' signed.so cut.so
expect_fail 11 'cut.so: malformed signature: its signed length [0-9]+ is not the [0-9]+ bytes before it' hp -p "$pid" apply cut.so
unchanged

step "trusted_keys: a key that is not in it is refused"
mkdir trusted
cp other/stranger.pub trusted/
printf 'trusted_keys = %s\n' "$WORK/trusted" >policy
expect_fail 11 "signed.so: signed by key $key_id, which is not a trusted key \\($WORK/trusted, policy $WORK/policy\\)" \
  hp -p "$pid" apply signed.so
expect_fail 11 "which is not a trusted key" hp verify signed.so
expect_success hp info signed.so
assert_match "^  signature: key $key_id, verifies, but is NOT a trusted key \\($WORK/trusted; refused\\)$" "$LAST_OUT" "info"
unchanged
cp keys/release.pub trusted/
expect_success hp verify signed.so
assert_eq "signed.so: good signature by key $key_id, a trusted key ($WORK/trusted)" "$LAST_OUT" "verify with trusted keys"
apply_ok "$pid" signed.so trust-fix
wait_for_log t '^compute\(7\)=70$' 2
grep -q "/memfd:hotpatch:trust-fix (deleted)$" "/proc/$pid/maps" || fail "the patch is not mapped from its memfd: $(cat /proc/$pid/maps)"
! grep -q " $WORK/signed.so$" "/proc/$pid/maps" || fail "the patch was mapped from its file"
expect_success python3 "$E2E_DIR/trust_sign/sealed.py" "$pid" hotpatch:trust-fix
revert_ok "$pid" trust-fix
wait_for_log t '^compute\(7\)=21$' 2

step "the bytes checked are the bytes loaded: the file rewritten after the check changes nothing"
# Both ways of loading: dlopen (from a memfd) and near-linked (written by the loader).
build_patch near.so "$CASE_DIR/patch.c" -DNEAR -nostartfiles
build_patch evil-near.so "$CASE_DIR/patch.c" -DNEAR -DEVIL -nostartfiles
expect_success hp sign --key keys/release.key near.so
for pair in signed.so:evil.so near.so:evil-near.so; do
  cp "${pair%%:*}" swap.so
  memfds=$(grep -c 'memfd:hotpatch:' "/proc/$pid/maps" || true)
  stop_cli_at apply:thread-seized -p "$pid" apply swap.so
  # The same inode, other bytes: a patch that multiplies by 99 (and is not even signed).
  cat "${pair#*:}" >swap.so
  kill -CONT "$CLI_PID"
  wait "$CLI_PID" || fail "apply of ${pair%%:*} failed after the file changed under it: $(cat cli.err)"
  assert_match '^applied trust-fix: ' "$(cat cli.out)" "apply output"
  mark_log t
  expect_output t '^compute\(7\)=70$' 3
  expect_log_lacks t '^BAD'
  if [ "${pair%%:*}" = near.so ]; then
    assert_eq "$memfds" "$(grep -c 'memfd:hotpatch:' "/proc/$pid/maps")" "memfd mappings (a near-linked patch is not dlopen'ed)"
  fi
  revert_ok "$pid" trust-fix
done

step "create --sign signs what it writes"
cp -r "$E2E_DIR/create_basic/project" src
(cd src && make -s) || fail "building the project failed"
expect_success hp create --src src --diff "$E2E_DIR/create_basic/fix.diff" --binary app -o created.so --id created \
  --sign keys/release.key
assert_match "^wrote .*/created\\.so: 1 function for build-id [0-9a-f]{40}, signed with key $key_id in " "$LAST_OUT" "create"
expect_success hp verify created.so --key keys/release.pub
expect_fail 2 'missing.key: No such file or directory' hp create --src src --diff "$E2E_DIR/create_basic/fix.diff" \
  --binary app -o never.so --sign missing.key
[ ! -e never.so ] || fail "create wrote a patch although its signing key is missing"

finish_target t

# A patch that refers to the target's static variable PC-relatively: mapped within
# reach of the target and linked by hotpatch (no dlopen), with libc calls resolved
# in the target (an IFUNC included). Its state continues across apply and revert.
build_target target "$CASE_DIR/target.c" -fPIE -pie
if ! cc -O2 -fPIE -Wall -Werror -I"$HOTPATCH_INCLUDE" -c -o patch.o "$CASE_DIR/patch.c" ||
   ! cc -shared -nostartfiles -o patch.so patch.o; then
  fail "could not build the near patch"
fi
expect_success hp info patch.so
assert_match '^  loaded: near the target' "$LAST_OUT" "info: how it is loaded"
assert_match '^  target reference: counter \(relocation type 2, addend -4\)' "$LAST_OUT" "info: the reference to counter"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21 step=1$' 3

step "apply"
apply_ok "$pid" patch.so near-compute
wait_for_log t '^compute\(7\)=35 step=1000$' 2
expect_output t '^compute\(7\)=35 step=1000$' 3
# Loaded by us, not by dlopen: no mapping of the file, and its code lies within
# 2 GiB of the target's.
assert_no_match " $WORK/patch\\.so$" "$(cat /proc/$pid/maps)" "patch.so mapped by file (dlopen)"
expect_success hp -p "$pid" list
new=$(sed -nE 's/.*-> compute_near \((0x[0-9a-f]+)\).*/\1/p' <<<"$LAST_OUT")
old=$(sed -nE 's/^  compute \((0x[0-9a-f]+)\).*/\1/p' <<<"$LAST_OUT")
[ -n "$new" ] && [ -n "$old" ] || fail "list does not show the redirect: $LAST_OUT"
distance=$(( new > old ? new - old : old - new ))
[ "$distance" -lt $((1 << 31)) ] || fail "patch code at $new is out of 32-bit reach of $old"

step "revert"
revert_ok "$pid" near-compute
wait_for_log t '^compute\(7\)=21 step=1$' 2
expect_output t '^compute\(7\)=21 step=1$' 3
expect_log_lacks t '^BAD'
finish_target t '^BAD'

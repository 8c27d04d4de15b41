# A PIE executable's global function: apply -> new output, list shows it with the
# right addresses, revert -> old output, list is empty again.
build_target target "$CASE_DIR/target.c" -fPIE -pie
build_patch patch.so "$CASE_DIR/patch.c"
assert_match 'Type: +DYN' "$(readelf -h target)" "target is a PIE"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21$' 3
addr=$(symbol_addr "$pid" target compute)
orig_bytes=$(read_mem "$pid" "$addr" 16)

step "apply"
apply_ok "$pid" patch.so fix-compute
assert_match '^applied fix-compute: 1 function,' "$LAST_OUT" "apply output"
assert_match "$JUMP_RE" "$(read_mem "$pid" "$addr" 16)" "code at compute ($addr) after apply"
wait_for_log t '^compute\(7\)=70$' 2
expect_output t '^compute\(7\)=70$' 5

step "list"
expect_success hp -p "$pid" list
assert_match "^fix-compute +applied [0-9T:-]+Z +$WORK/patch.so$" "$LAST_OUT" "list header line"
assert_match "$(redirect_re compute "$addr" compute_v2)" "$LAST_OUT" "list: redirect line"
assert_match '^  description: basic_pie: compute multiplies by 10$' "$LAST_OUT" "list: description"
# The patch is mapped from a memfd holding the bytes apply read (docs/security.md).
new_addr=$(sed -nE 's/.*-> compute_v2 \((0x[0-9a-f]+)\).*/\1/p' <<<"$LAST_OUT")
base=$(awk '$6 == "/memfd:hotpatch:fix-compute" && $3 == "00000000" {split($1, r, "-"); print r[1]; exit}' "/proc/$pid/maps")
[ -n "$base" ] || fail "the patch is not mapped from its memfd: $(cat "/proc/$pid/maps")"
value=$(readelf -Ws --wide patch.so | awk '$8 == "compute_v2" && $7 != "UND" {print $2; exit}')
assert_eq "$(printf '0x%x' $((0x$base + 0x$value)))" "$new_addr" "address of compute_v2 in the target"

expect_success hp -p "$pid" list --json
python3 -c 'import json,sys; json.load(sys.stdin)' <<<"$LAST_OUT" || fail "list --json is not JSON: $LAST_OUT"
assert_match 'fix-compute' "$LAST_OUT" "list --json names the patch"

step "revert"
revert_ok "$pid" fix-compute
assert_eq "$orig_bytes" "$(read_mem "$pid" "$addr" 16)" "code at compute ($addr) after revert: the original bytes"
wait_for_log t '^compute\(7\)=21$' 2
expect_output t '^compute\(7\)=21$' 5
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after revert"

step "apply again after revert"
apply_ok "$pid" patch.so fix-compute
wait_for_log t '^compute\(7\)=70$' 2
expect_output t '^compute\(7\)=70$' 3
revert_ok "$pid" fix-compute
wait_for_log t '^compute\(7\)=21$' 2
expect_output t '^compute\(7\)=21$' 3

finish_target t

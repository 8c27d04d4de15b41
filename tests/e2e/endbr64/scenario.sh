# -fcf-protection=full: functions begin with endbr64 (f3 0f 1e fa). Direct and
# indirect (function pointer) calls must both reach the new code, and both must
# come back after revert.
build_target target "$CASE_DIR/target.c" -fcf-protection=full
build_patch patch.so "$CASE_DIR/patch.c" -fcf-protection=full
first_insn=$(objdump -d --disassemble=compute target | awk '/<compute>:/ {getline; print; exit}')
assert_match 'f3 0f 1e fa[[:space:]]+endbr64' "$first_insn" "compute begins with endbr64"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^direct=21 indirect=21$' 3
addr=$(symbol_addr "$pid" target compute)
orig_bytes=$(read_mem "$pid" "$addr" 16)

step "apply"
apply_ok "$pid" patch.so fix-endbr
# The endbr64 stays, so that indirect calls stay valid where IBT is enforced.
code=$(read_mem "$pid" "$addr" 16)
assert_match '^f30f1efa' "$code" "compute ($addr) still begins with endbr64 after apply"
assert_match "${JUMP_RE/^/^f30f1efa}" "$code" "a jump right after the endbr64"
wait_for_log t '^direct=70 indirect=70$' 2
expect_output t '^direct=70 indirect=70$' 5

step "revert"
revert_ok "$pid" fix-endbr
assert_eq "$orig_bytes" "$(read_mem "$pid" "$addr" 16)" "code at compute after revert: the original bytes"
wait_for_log t '^direct=21 indirect=21$' 2
expect_output t '^direct=21 indirect=21$' 5

finish_target t

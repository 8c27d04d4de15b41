# func upgrade / rollback are written by the Loader run as a helper (`hotpatch
# write-code`) with every thread stopped and none inside the bytes being replaced;
# a replacement that clobbers registers callers keep across the old function
# (IPA-RA) goes through a register-preserving stub; the stub is unmapped on
# rollback. 3 threads check every result throughout (ROUNDS=N for more rounds).
BUILD=$(dirname "$HOTPATCH")
build_target "$WORK/target" "$CASE_DIR/target.c"
build_patch "$WORK/patch.so" "$CASE_DIR/patch.c"

# What this case is about must really be in the binary: combine() uses b and c
# (esi, edx) after calling scale() without saving them anywhere.
combine_asm=$(objdump -d --no-show-raw-insn "$WORK/target" | awk '/<combine>:/,/ret/')
assert_match 'call +[0-9a-f]+ <scale>' "$combine_asm" "combine calls scale"
assert_match 'imul +%e(dx|si),%e(si|dx)' "$combine_asm" "combine multiplies b*c after the call (IPA-RA)"
assert_no_match 'push|mov +%e(dx|si),' "$combine_asm" "combine saves nothing across the call"

start_target s env LD_PRELOAD="$BUILD/libhotpatch_preload.so" "$WORK/target"
pid=$LAST_PID
wait_for_log s '^ready pid='
wait_for_log s '^entry\(41\)=42 combine\(2,5,7\)=41 '

# sym NAME: the function's address in the running target (PIE: load base + nm value).
base=0x$(awk -v exe="$WORK/target" '$6 == exe { split($1, r, "-"); print r[1]; exit }' "/proc/$pid/maps")
sym() { printf '%#x' $((base + 0x$(nm "$WORK/target" | awk -v n="$1" '$3 == n { print $1 }'))); }
# is_mapped ADDR: some mapping of the target contains ADDR (adjacent stub pages merge).
is_mapped() {
  local a=$(($1)) start end _
  while IFS='- ' read -r start end _; do
    ((a >= 0x$start && a < 0x$end)) && return 0
  done <"/proc/$pid/maps"
  return 1
}

expect_success hp -p "$pid" lib load p "$WORK/patch.so"
for round in $(seq 1 "${ROUNDS:-3}"); do
  step "round $round"
  expect_success hp -p "$pid" func upgrade p entry entry_v2
  assert_match "^written 5 bytes at $(sym entry): [0-9]+ threads stopped for [0-9]+ us" "$LAST_OUT" "upgrade entry"
  expect_success hp -p "$pid" func upgrade p scale scale_v2
  assert_match '^upgraded scale .* via stub keeping rdx, rsi\) as func:scale$' "$LAST_OUT" "upgrade scale"
  expect_success hp -p "$pid" --json list
  stubs=$(grep -o '"stub":"0x[0-9a-f]*"' <<<"$LAST_OUT" | grep -o '0x[0-9a-f]*') || true
  [ "$(wc -w <<<"$stubs")" = 2 ] || fail "list --json should show a stub for entry and for scale: $LAST_OUT"
  for stub in $stubs; do is_mapped "$stub" || fail "stub page $stub is not mapped"; done
  wait_for_log s '^entry\(41\)=4100 combine\(2,5,7\)=43 '
  expect_success hp -p "$pid" func rollback scale
  assert_no_match 'stays mapped' "$LAST_OUT" "rollback scale"
  expect_success hp -p "$pid" func rollback entry
  assert_no_match 'stays mapped' "$LAST_OUT" "rollback entry"
  for stub in $stubs; do ! is_mapped "$stub" || fail "stub page $stub is still mapped after the rollback"; done
  wait_for_log s '^entry\(41\)=42 combine\(2,5,7\)=41 '
done

step "write-code refuses while a thread runs the guarded code, and on wrong bytes"
spin=$(sym spin)
spin_end=$((spin + 0x$(nm -S "$WORK/target" | awk '$4 == "spin" { print $2 }')))
entry=$(sym entry)
expect_fail 6 "function spin is (running|on the stack of) thread [0-9]+" \
  hp -p "$pid" write-code --at "$entry" --expect 55 --bytes 55 --guard "$spin-$spin_end=function spin" --timeout 200
expect_fail 7 "the bytes at $entry are 55, not the expected c3; nothing was written" \
  hp -p "$pid" write-code --at "$entry" --expect c3 --bytes 90
expect_fail 2 "is not hex" hp -p "$pid" write-code --at "$entry" --expect zz --bytes 55
expect_fail 2 "--expect has 1 bytes but --bytes has 2" hp -p "$pid" write-code --at "$entry" --expect 55 --bytes 5555
expect_success hp -p "$pid" write-code --at "$entry" --expect 55 --bytes 55 --probe "$spin-$spin_end"
assert_match "^probe $spin-0x[0-9a-f]+ in use: .* is (running|on the stack of) thread" "$LAST_OUT" "probe"

mark_log s
wait_for_log s '^entry\(41\)=42 combine\(2,5,7\)=41 calls=[0-9]+ wrong=0$'
if grep -q '^WRONG' "$WORK/s.log"; then fail "wrong results: $(grep -m3 '^WRONG' "$WORK/s.log")"; fi
expect_success hp -p "$pid" lib unload p
finish_target s

step "no usable helper: a clear ERR, nothing changed"
cp "$HOTPATCH" "$WORK/hotpatch-open" && chmod 0775 "$WORK/hotpatch-open"
for helper in "$WORK/no-such-hotpatch" "$WORK/hotpatch-open"; do
  start_target n env LD_PRELOAD="$BUILD/libhotpatch_preload.so" HOTPATCH_CLI="$helper" "$WORK/target"
  npid=$LAST_PID
  wait_for_log n '^entry\(41\)=42 '
  expect_success hp -p "$npid" lib load p "$WORK/patch.so"
  case $helper in
    *no-such*) why="cannot find the hotpatch command" ;;
    *) why="writable by other users \(mode 775\); refusing to use it" ;;
  esac
  expect_fail 8 "'entry': .*$why" hp -p "$npid" func upgrade p entry entry_v2
  expect_fail 8 "not upgraded; nothing to roll back" hp -p "$npid" func rollback entry
  mark_log n
  wait_for_log n '^entry\(41\)=42 combine\(2,5,7\)=41 calls=[0-9]+ wrong=0$'
  finish_target n
done


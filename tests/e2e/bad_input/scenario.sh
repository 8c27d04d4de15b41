# Bad input of every kind is refused with its documented exit code and a message
# naming what is wrong; after each, the target runs on, untouched and untraced.
build_target target "$CASE_DIR/target.c"
for p in good no_records unknown_symbol too_short build_id ifunc bad_version; do
  build_patch "$p.so" "$CASE_DIR/$p.c"
done
assert_match ' FUNC +GLOBAL +DEFAULT +[0-9]+ tiny$' "$(readelf -Ws --wide target)" "tiny is in the target"
tiny_size=$(readelf -Ws --wide target | awk '$8 == "tiny" {print $3}')
[ "$tiny_size" -lt 5 ] || fail "tiny() should be shorter than a jump, it is $tiny_size bytes"
printf 'this is a text file, not a patch\n' >text.so
head -c 4096 /dev/zero >zeros.so
: >empty.so
head -c 64 good.so >truncated-header.so
head -c $(($(stat -c %s good.so) / 2)) good.so >truncated-half.so
cc -c -O2 -I"$HOTPATCH_INCLUDE" -o good.o "$CASE_DIR/good.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21$' 3

# after_error: the target is alive, untraced, prints what it printed before, has
# no patch loaded and the error was one "hotpatch: error:" line.
after_error() {
  local expect=${1:-21}
  [ "$(wc -l <last.err)" -eq 1 ] || fail "expected one error line on stderr, saw: $(cat last.err)"
  assert_match '^hotpatch: error: ' "$LAST_ERR" "error line format"
  expect_alive "$pid"
  mark_log t
  expect_output t "^compute\\(7\\)=$expect$" 2
  # (a patch loaded with dlopen is mapped from a memfd named after its id)
  if grep -E "$WORK/[a-z_-]+\\.(so|o)$|/memfd:hotpatch:" "/proc/$pid/maps" | grep -v -e "/good.so$" -e "/memfd:hotpatch:good " >/dev/null; then
    fail "a refused patch is still mapped in the target: $(grep -E "$WORK/|/memfd:hotpatch:" "/proc/$pid/maps")"
  fi
}

step "usage errors (exit 2)"
expect_fail 2 'needs a patch id or --all' hp -p "$pid" revert
after_error
expect_fail 2 '' hp apply good.so
after_error
expect_fail 2 '' hp -p "$pid" apply
after_error
expect_fail 2 '' hp -p "$pid" frobnicate
after_error
expect_fail 2 '' hp -p "$pid" apply good.so --timeout -5
after_error

step "no such process (exit 3)"
nopid=$(($(cat /proc/sys/kernel/pid_max) + 1))
expect_fail 3 "$nopid" hp -p "$nopid" apply good.so
expect_fail 3 "$nopid" hp -p "$nopid" list
exited=$(sh -c 'echo $$')
expect_fail 3 "$exited" hp -p "$exited" apply good.so

step "a process we may not trace (exit 3)"
expect_fail 3 '' hp -p 2 apply good.so  # kthreadd: a kernel thread
if command -v strace >/dev/null; then
  start_target strace strace -p "$pid" -o /dev/null
  strace_pid=$LAST_PID
  for _ in $(seq 100); do
    _tracer "$pid"
    [ "$_TRACER" = "$strace_pid" ] && break
    nap 0.05
  done
  assert_eq "$strace_pid" "$_TRACER" "TracerPid of the target under strace"
  expect_fail 3 "$pid" hp -p "$pid" apply good.so
  kill -INT "$strace_pid"
  wait "$strace_pid" || true
  after_error
else
  note "strace not installed: skipping the already-traced check"
fi

step "bad patch files (exit 4), for apply and info"
for f in missing.so text.so zeros.so empty.so truncated-header.so truncated-half.so no_records.so bad_version.so good.o; do
  expect_fail 4 "$f" hp -p "$pid" apply "$f"
  after_error
  expect_fail 4 "$f" hp info "$f"
done
expect_fail 4 '' hp -p "$pid" apply "$WORK"
after_error

step "patches that do not fit the target (exit 5)"
expect_fail 5 'no_such_function_anywhere' hp -p "$pid" apply unknown_symbol.so
after_error
expect_fail 5 'tiny' hp -p "$pid" apply too_short.so
after_error
expect_fail 5 '[Bb]uild.?id' hp -p "$pid" apply build_id.so
after_error
expect_fail 5 'strlen' hp -p "$pid" apply ifunc.so
after_error
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after the refused patches"
for p in unknown_symbol too_short build_id ifunc; do
  expect_success hp info "$p.so" # readable files: info shows them
done

step "--json errors"
run_cmd hp -p "$pid" apply text.so --json
assert_eq 4 "$LAST_RC" "exit code of apply --json on a text file"
python3 -c 'import json,sys; d = json.load(sys.stdin); assert d["exit_code"] == 4 and d["error"], d' \
  <<<"$LAST_OUT" || fail "apply --json: expected {\"error\": ..., \"exit_code\": 4}, got: $LAST_OUT"

step "conflicts (exit 7)"
apply_ok "$pid" good.so good
wait_for_log t '^compute\(7\)=70$' 2
# The same patch from the same file again: reported, not doubled, not an error.
expect_success hp -p "$pid" apply good.so
assert_match '^already applied good \(since [0-9T:-]+Z\)$' "$LAST_OUT" "second apply of good.so"
# The same id from another file (other bytes) is a conflict.
cp good.so good-copy.so
printf 'x' >>good-copy.so
expect_fail 7 "a patch with id 'good' is already applied from $WORK/good.so" hp -p "$pid" apply good-copy.so
after_error 70
expect_fail 7 'no-such-id' hp -p "$pid" revert no-such-id
after_error 70
expect_success hp -p "$pid" list
[ "$(grep -c '^good ' <<<"$LAST_OUT")" -eq 1 ] || fail "expected 'good' listed once, list says: $LAST_OUT"
revert_ok "$pid" good
wait_for_log t '^compute\(7\)=21$' 2
expect_fail 7 'good' hp -p "$pid" revert good
after_error 21

finish_target t

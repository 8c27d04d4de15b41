# hotpatch create for a shared library the project builds itself: the diff changes
# calc() inside libcalc.so (its file-local counter, a global variable that the
# program sets and the library reaches through its GOT: a copy relocation puts the
# live one in the program, another exported function of the library called through the
# PLT). `--binary libcalc.so`: the patch names that library (HOTPATCH_OBJECT), is
# pinned to its build-id, and is linked near its mapping in the running app.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"
lib_build_id=$(readelf -n src/libcalc.so | sed -nE 's/.*Build ID: ([0-9a-f]+)/\1/p')

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary libcalc.so -o fix.so --id fix-lib
assert_match '^changed: calc \(calc\.c\)$' "$LAST_OUT" "report names the changed function"
assert_match "^wrote .*/fix\\.so: 1 function for build-id $lib_build_id of libcalc\\.so " "$LAST_OUT" \
  "report: the library's build-id and name"
expect_success hp info fix.so
assert_match '^  object: libcalc\.so$' "$LAST_OUT" "info: HOTPATCH_OBJECT names the library"
assert_match "^  requires build-id: $lib_build_id$" "$LAST_OUT" "info: pinned to the library's build-id"

start_target t ./src/app
pid=$LAST_PID
expect_output t '^calc\(7\)=1021 calls=[0-9]+$' 3
grep -q " $WORK/src/libcalc.so$" "/proc/$pid/maps" || fail "src/libcalc.so is not mapped in the app"

step "apply"
apply_ok "$pid" fix.so fix-lib
wait_for_log t '^calc\(7\)=1700 calls=[0-9]+$' 2
before=$(last_match t '^calc\(7\)=1021 calls=' | sed -E 's/.*calls=//')
first=$(grep -E '^calc\(7\)=1700 calls=' "$WORK/t.log" | head -n 1 | sed -E 's/.*calls=//')
# The library's own static counter continues (+10 per call now), not a fresh copy.
[ "$first" -gt "$before" ] && [ $((first - before)) -le 40 ] ||
  fail "calls went from $before to $first: the patch did not continue the library's own counter"
expect_success hp -p "$pid" list
addr=$(symbol_addr "$pid" src/libcalc.so calc)
assert_match "$(redirect_re calc "$addr" 'calc\.hotpatch')" "$LAST_OUT" "list: the library's calc is redirected"
new=$(sed -nE 's/.*-> calc\.hotpatch \((0x[0-9a-f]+)\).*/\1/p' <<<"$LAST_OUT")
distance=$(( new > addr ? new - addr : addr - new ))
[ "$distance" -lt $((1 << 31)) ] || fail "patch code at $new is out of 32-bit reach of libcalc.so's calc at $addr"

step "revert"
revert_ok "$pid" fix-lib
wait_for_log t '^calc\(7\)=1021 calls=[0-9]+$' 2
expect_output t '^calc\(7\)=1021 calls=[0-9]+$' 3
finish_target t '^BAD'

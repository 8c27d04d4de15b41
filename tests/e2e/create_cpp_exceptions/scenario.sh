# C++ exceptions through patched code: the diff makes parse_value() throw for
# smaller inputs, changes parse_or_default(), which catches what parse_value()
# throws, and makes the leaf scaled() throw (entered through a register-preserving
# stub, whose frame the exception must pass). The unwinder must find the patch's own
# unwind tables (.eh_frame and the catch tables they point to) and the stub's, which
# hotpatch registers in the target; without them the first throw from patched code
# ends the program in std::terminate.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id fix-throw
assert_match '^changed: _Z11parse_valuei \(parse\.cpp\)$' "$LAST_OUT" "report: parse_value"
assert_match '^changed: _Z16parse_or_defaulti \(parse\.cpp\)$' "$LAST_OUT" "report: parse_or_default"
assert_match '^changed: _Z6scaledi \(parse\.cpp\)$' "$LAST_OUT" "report: scaled"
expect_success hp info fix.so
assert_match '^  unwind tables: [0-9]+ functions?' "$LAST_OUT" "info: the patch carries unwind tables"

start_target t ./src/app
pid=$LAST_PID
expect_output t '^value=14 default=100 scaled=51$' 3

step "apply"
apply_ok "$pid" fix.so fix-throw
expect_success hp -p "$pid" list
assert_match '^  unwind tables registered' "$LAST_OUT" "list: the patch's unwind tables are registered"
# The case means nothing if scaled() is entered by a plain jump: say so and fail.
assert_match '^  _Z6scaledi \(0x[0-9a-f]+\) -> .* via stub keeping ' "$LAST_OUT" \
  "list: scaled() is entered through a register-preserving stub"
[ "$(grep -c '^  unwind tables registered' <<<"$LAST_OUT")" = 2 ] ||
  fail "expected two registered unwind tables (the patch's and its stubs'), list says: $LAST_OUT"
# Thrown in patched code, caught by the program's own main(); thrown in patched code
# and caught by a patched catch clause; thrown behind a stub, caught by main().
wait_for_log t '^value=caught too big: 7 default=-2 scaled=caught scaled: too big$' 2
expect_output t '^value=caught too big: 7 default=-2 scaled=caught scaled: too big$' 5

step "revert"
revert_ok "$pid" fix-throw
wait_for_log t '^value=14 default=100 scaled=51$' 2
expect_output t '^value=14 default=100 scaled=51$' 3
finish_target t '^BAD'

# hotpatch create on an IPA-SRA clone: summarize() reads only two fields of the
# struct it is given, so GCC -O2 passes them by value and names the function
# summarize.isra.0. The diff changes its body; the clone itself must be replaced.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"
# The case means nothing without the clone: if a compiler stops making it, say so
# and fail rather than test an ordinary function.
isra_in() { nm "$1" | grep -qE ' t summarize\.isra\.0$' ||
  fail "$1 has no summarize.isra.0 (this compiler made no IPA-SRA clone; the case must be rewritten)"; }
isra_in src/app
cp -r "$CASE_DIR/project" patched
(cd patched && patch -s -p1 <"$CASE_DIR/fix.diff" && make -s) || fail "building the patched project failed"
isra_in patched/app

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id fix-isra
assert_match '^changed: summarize\.isra\.0 \(stats\.c\)$' "$LAST_OUT" "report names the clone"
assert_no_match '^changed: report ' "$LAST_OUT" "the caller did not change"
expect_success hp info fix.so
assert_match '^  replaces: stats\.c::summarize\.isra\.0 -> ' "$LAST_OUT" "info: the clone is what gets replaced"

start_target t ./src/app
pid=$LAST_PID
expect_output t '^report=34$' 3

step "apply"
apply_ok "$pid" fix.so fix-isra
wait_for_log t '^report=331$' 2
expect_output t '^report=331$' 3
expect_success hp -p "$pid" list
addr=$(symbol_addr "$pid" src/app summarize.isra.0)
assert_match "$(redirect_re 'stats\.c::summarize\.isra\.0' "$addr" 'summarize\.isra\.0\.hotpatch')" "$LAST_OUT" \
  "list: the clone's entry is redirected"

step "revert"
revert_ok "$pid" fix-isra
wait_for_log t '^report=34$' 2
expect_output t '^report=34$' 3
finish_target t '^BAD'

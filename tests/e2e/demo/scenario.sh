# The README's `make demo`, so CI covers it: examples/demo/demo.sh with this build.
demo=$(cd "$E2E_DIR/../../examples/demo" && pwd)/demo.sh
run_cmd bash "$demo" "$(dirname "$HOTPATCH")"
sed 's/^/   | /' last.out last.err
[ "$LAST_RC" -eq 0 ] || fail "examples/demo/demo.sh exited with $LAST_RC"
assert_match 'server> total 40' "$LAST_OUT" "the demo showed the bug"
assert_match 'server> total 30' "$LAST_OUT" "the demo showed the fix"
assert_match 'failures=0 ' "$LAST_OUT" "the load client's failures"

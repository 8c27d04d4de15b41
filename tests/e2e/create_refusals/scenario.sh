# What cannot be patched live is refused with a named reason, exit 5, and no file.
# create_basic's project, with a global whose initial value the first diff changes.
cp -r "$CASE_DIR/../create_basic/project" src
printf '\nint limit = 10;\nint over_limit(int x) { return x > limit; }\nint tiny(int x) { return x + 1; }\n' >>src/calc.c
(cd src && make -s) || fail "building the project failed"

step "a changed initial value of an existing global"
expect_fail 5 'cannot make a live patch' hp create --src src --diff "$CASE_DIR/init_value.diff" --binary app -o a.so
assert_match '^refused: limit \(calc\.c\): its initial value changed' "$LAST_OUT" "the reason"
assert_match 'set the live value in a HOTPATCH_POST_APPLY callback of a hook file \(create --hooks, docs/creator\.md#callbacks\)' \
  "$LAST_OUT" "what to do instead"
[ ! -e a.so ] || fail "a refused patch was written"

step "a global whose size changes (data layout)"
expect_fail 5 'cannot make a live patch' hp create --src src --diff "$CASE_DIR/resize.diff" --binary app -o r.so
assert_match '^refused: limit \(calc\.c\): its size changed from 4 to 8 bytes' "$LAST_OUT" "the reason"
assert_match 'put what is new in a new variable .*shadow variable \(docs/creator\.md#shadow-variables\)' "$LAST_OUT" \
  "what to do instead"
[ ! -e r.so ] || fail "a refused patch was written"

step "a global function too short for a jump (callers in other files cannot be found)"
size_hex=$(nm -S src/app | awk '$4 == "tiny" {print $2}')
size=$((16#${size_hex:-0}))
[ "$size" -gt 0 ] && [ "$size" -lt 9 ] || fail "tiny() should be shorter than a jump in the program, nm says size '$size'"
expect_fail 5 'cannot make a live patch' hp create --src src --diff "$CASE_DIR/too_short.diff" --binary app -o s.so
assert_match "^refused: tiny \\(calc\\.c\\): changed, but it is $size bytes in the program, too short for a jump" "$LAST_OUT" \
  "the reason"
[ ! -e s.so ] || fail "a refused patch was written"

step "a change only in main (start-up code that never returns)"
expect_fail 5 'cannot make a live patch' hp create --src src --diff "$CASE_DIR/main_only.diff" --binary app -o b.so
assert_match '^refused: main \(main\.c\): changed, but main never returns' "$LAST_OUT" "the reason"
assert_match 'move the changed part into a function main calls' "$LAST_OUT" "what to do instead"
[ ! -e b.so ] || fail "a refused patch was written"

step "a diff that changes no code"
expect_fail 5 'changes no function of app' hp create --src src --diff "$CASE_DIR/nothing.diff" --binary app -o c.so
[ ! -e c.so ] || fail "an empty patch was written"

step "bad input"
expect_fail 2 'no such file' hp create --src src --diff "$CASE_DIR/missing.diff" --binary app -o d.so
expect_fail 2 'no such file in' hp create --src src --diff "$CASE_DIR/nothing.diff" --binary nope -o d.so
expect_fail 2 'not a directory' hp create --src /nonexistent --diff "$CASE_DIR/nothing.diff" --binary app -o d.so

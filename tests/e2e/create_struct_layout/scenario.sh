# A fix that changes the layout of a struct the patched code uses (a field added
# in the middle: every later member moves) is refused, naming the type and the
# field: the running program's objects keep the old layout, which the new code
# would misread. The refusal points to shadow variables.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

expect_fail 5 'cannot make a live patch' hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so
assert_match "^refused: account \\(conn\\.c\\): uses struct conn, whose layout the fix changes \\(new field 'limited' at offset 4\\)" \
  "$LAST_OUT" "the reason names the type and the field"
assert_match 'shadow variable \(docs/creator\.md#shadow-variables\)' "$LAST_OUT" "the refusal says what to do instead"
[ ! -e fix.so ] || fail "a refused patch was written"

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

# The same change made where the code reaches the struct only through casts of a
# void pointer (a callback's `data`): no debug information of the function names
# the type, but the file's type changed and its code is carried: refused too
# (before, a patch was made whose timer_timeout read `resolve` where the live
# objects hold `timeout`).
expect_fail 5 'cannot make a live patch' hp create --src src --diff "$CASE_DIR/cast.diff" --binary app -o cast.so
assert_match "^refused: timer_(new|timeout) \\(timer\\.c\\): the fix changes the layout of struct timer \\(size 16 -> 24 bytes; new field 'resolve' at offset 8; field 'timeout' moved from offset 8 to offset 16\\)" \
  "$LAST_OUT" "the reason names the type and the field"
[ ! -e cast.so ] || fail "a refused patch was written"

# A project built without -g: create compiles with -g added (it changes no code, and
# run-pre matching checks that), so the layout change is still seen and refused
# (before, the objects had no types to compare and only a note was printed).
cp -r "$CASE_DIR/project" nog
(cd nog && make -s CFLAGS='-O2 -Wall') || fail "building the project without -g failed"
readelf -S nog/app | grep -q '\.debug_info' && fail "the program built without -g has debug information"
expect_fail 5 'cannot make a live patch' hp create --src nog --diff "$CASE_DIR/fix.diff" --build "make CFLAGS='-O2 -Wall'" \
  --binary app -o nog.so
assert_match "^refused: account \\(conn\\.c\\): uses struct conn, whose layout the fix changes \\(new field 'limited' at offset 4\\)" \
  "$LAST_OUT" "the reason, for a program built without -g"
[ ! -e nog.so ] || fail "a refused patch was written"

# Run-pre matching: the program was built with -O1, the tree's own build uses -O2.
# The rebuilt originals are not what the program runs (other code, other
# inlining), so a patch made from them could apply and be wrong: create refuses,
# naming the function and the flags that differ. Built the same way, it works.
cp -r "$CASE_DIR/project" src
(cd src && make -s CFLAGS='-O1 -g') || fail "building the project failed"

step "the program built with -O1, the tree's build with -O2: refused"
expect_fail 5 'cannot make a live patch' hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so
assert_match "^refused: compute \\(calc\\.c\\): the rebuilt original does not match the running program .*other compiler flags: the program's calc\\.c was built with '-O1', the rebuilt one with '-O2'" \
  "$LAST_OUT" "the reason names the function and the flags"
[ ! -e fix.so ] || fail "a refused patch was written"

step "the same build command as the program's: made, and it works"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --build "make CFLAGS='-O1 -g'"
start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^compute\(7\)=44$'
apply_ok "$pid" fix.so fix
wait_for_log t '^compute\(7\)=46$' 2
finish_target t '^BAD'

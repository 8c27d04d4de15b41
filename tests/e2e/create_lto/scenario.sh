# A program built with link-time optimisation: its objects hold GCC's intermediate
# code, not machine code (no function symbols). create refuses, saying so, instead
# of "the diff changes no function".
cp -r "$CASE_DIR/../create_basic/project" src
(cd src && make -s CFLAGS='-O2 -g -flto') >build.log 2>&1 || { cat build.log >&2; fail "building with -flto failed"; }
readelf -SW src/calc.o | grep -q '\.gnu\.lto_' || fail "calc.o has no LTO sections; the case tests nothing"

step "create"
expect_fail 5 'cannot make a live patch' hp create --src src --diff "$CASE_DIR/../create_basic/fix.diff" \
  --build "make CFLAGS='-O2 -g -flto'" --binary app -o fix.so
assert_match '^refused: calc\.o: an LTO object \(compiled with -flto; command: cd .* -flto .*calc\.c\): its machine code is only made when the program is linked' \
  "$LAST_OUT" "the refusal names the object, -flto and the command"
[ ! -e fix.so ] || fail "a refused create wrote a patch"

# hotpatch create on C++: a member function and two instances of a function
# template (mangled names, weak COMDAT definitions). The double instance differs
# only in a pooled constant (.rodata.cst8): it must still count as changed.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so
for sym in _ZNK3geo4Rect4areaEv _ZN3geo5twiceIiEET_S1_ _ZN3geo5twiceIdEET_S1_; do
  assert_match "^changed: $sym \\(shapes\\.cpp\\)$" "$LAST_OUT" "report: $sym"
done
assert_no_match '^changed: _ZNK3geo4Rect9perimeterEv' "$LAST_OUT" "an unchanged member function"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^area=12 perimeter=14 twice=42 twiced=3\.0$'
step "apply"
apply_ok "$pid" fix.so fix
wait_for_log t '^area=112 perimeter=14 twice=63 twiced=4\.5$' 2
expect_output t '^area=112 perimeter=14 twice=63 twiced=4\.5$' 3
step "revert"
revert_ok "$pid" fix
wait_for_log t '^area=12 perimeter=14 twice=42 twiced=3\.0$' 2
finish_target t '^BAD'

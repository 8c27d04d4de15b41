# hotpatch create on what compilers do to code: a static helper inlined into its
# caller (the caller is patched), a function-local static (its count continues), a
# changed string literal, a new global variable, a function with a .cold part, and
# a 4-byte constprop clone too short for a jump (its caller is patched instead).
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"
nm src/app | grep -q ' scale\.constprop\.0$' || note "this compiler made no constprop clone"
nm src/app | grep -q ' checked\.cold$' || note "this compiler made no .cold part"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id features
for f in use_inlined with_static_local greet uses_new_global checked scaled; do
  assert_match "^changed: $f \\(feats\\.c\\)$" "$LAST_OUT" "report: $f changed"
done
assert_match '^carried data: new_global \(feats\.c\)$' "$LAST_OUT" "report: the new global"
assert_no_match '^changed: helper' "$LAST_OUT" "the inlined helper has no symbol to replace"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^inl=10 local=[0-9]+ greet=hello newg=0 checked=20 scaled=16$'
before=$(last_match t '^inl=' | sed -E 's/.*local=([0-9]+).*/\1/')

step "apply"
apply_ok "$pid" fix.so features
wait_for_log t '^inl=208 local=[0-9]+ greet=hello, patched newg=[0-9]+ checked=2000 scaled=19$' 2
mark_log t
wait_for_log t '^inl=208 ' 2
line=$(last_match t '^inl=208 ')
local_now=$(sed -E 's/.*local=([0-9]+).*/\1/' <<<"$line")
newg=$(sed -E 's/.*newg=([0-9]+).*/\1/' <<<"$line")
[ "$local_now" -gt "$before" ] || fail "the static local restarted: $before before, $local_now after"
[ "$newg" -ge 42 ] || fail "the new global did not start from its initial value 41: $newg"

step "revert"
revert_ok "$pid" features
wait_for_log t '^inl=10 local=[0-9]+ greet=hello newg=[0-9]+ checked=20 scaled=16$' 2
finish_target t '^BAD'

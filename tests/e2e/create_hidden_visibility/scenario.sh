# A program built with -fvisibility=hidden (as libraries' internals are, Lua's in
# redis): compute() and util_scale() are global in their objects but local in the
# linked program. The fix to compute() still calls util_scale(): create matches
# both with the program's only local definition of each name (run-pre), and the
# loader resolves them the same way.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"
readelf -Ws src/app | grep -Eq ' LOCAL +DEFAULT +[0-9]+ util_scale$' || fail "util_scale is not local in the program"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id hidden
assert_match '^changed: compute \(calc\.c\)$' "$LAST_OUT" "report: the changed function"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^compute\(7\)=21 version=1$'

step "apply"
apply_ok "$pid" fix.so hidden
# 21 + 42 + 7: the patched compute() calls the program's util_scale twice.
wait_for_log t '^compute\(7\)=70 version=1$' 2
expect_output t '^compute\(7\)=70 version=1$' 2

step "revert"
revert_ok "$pid" hidden
wait_for_log t '^compute\(7\)=21 version=1$' 2
finish_target t '^BAD'

# hotpatch create on C++ lambdas. The compiler numbers a function's lambdas of one
# signature in order (make_cb(int)::{lambda(int)#1}, #2) and names std::function's
# invoker and manager of each after that number. A fix to a lambda's body keeps the
# numbers: the invoker is replaced, and a callback made before the apply runs the
# fixed code. A fix that adds a lambda before it renumbers it: the old lambda's
# invoker would be "changed" into the new lambda's and the stored callback would run
# `x * 7` on its captures; which is which cannot be told, so create refuses.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

step "create: a lambda added before another is refused"
expect_fail 5 'cannot make a live patch' hp create --src src --diff "$CASE_DIR/added_before.diff" --binary app -o wrong.so
assert_match "^refused: _Z7make_cbi \\(cb\\.cpp\\): uses 'std::_Function_handler<int \\(int\\), make_cb\\(int\\)::\\{lambda\\(int\\)#2\\}>::_M_invoke.*numbers them in order" \
  "$LAST_OUT" "the refusal names the renumbered lambda"
[ ! -e wrong.so ] || fail "a refused create wrote wrong.so"

step "create: a lambda's body changed"
expect_success hp create --src src --diff "$CASE_DIR/body.diff" --binary app -o fix.so
start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^stored=102 fresh=103$'
step "apply"
apply_ok "$pid" fix.so fix
wait_for_log t '^stored=1102 fresh=1103$' 2
expect_output t '^stored=1102 fresh=1103$' 3
step "revert"
revert_ok "$pid" fix
wait_for_log t '^stored=102 fresh=103$' 2
finish_target t '^BAD'

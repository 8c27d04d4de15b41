# An autotools + libtool C++ project: every source compiled twice (.libs/x.o with
# -fPIC and x.o), a convenience library (libconv.la) linked into the program, a
# shared library of the project, so libtool links the program as .libs/server and
# leaves a wrapper script at ./server. --binary names the program itself.
for tool in autoreconf libtoolize automake; do
  command -v $tool >/dev/null || fail "$tool is missing (scripts/install-deps.sh installs autoconf, automake, libtool)"
done
cp -r "$CASE_DIR/project" src
(cd src && autoreconf -fi && ./configure -q && make -s) >build.log 2>&1 ||
  { tail -n 30 build.log >&2; fail "building the autotools project failed"; }
[ -f src/.libs/conv.o ] && [ -f src/conv.o ] || fail "libtool did not build conv.cpp twice; the case tests nothing"

step "--binary naming libtool's wrapper script"
expect_fail 2 "--binary server: libtool's wrapper script; the program it runs is \.libs/server" \
  hp create --src src --diff "$CASE_DIR/fix.diff" --binary server -o fix.so

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary .libs/server -o fix.so --id lt
assert_match '^changed: _ZNK4conv6Scaler5applyEi \(conv\.cpp\)$' "$LAST_OUT" "the convenience library's function"
assert_match '^changed: _ZL6weighti \(main\.cpp\)$' "$LAST_OUT" "the program's own function"
assert_match '^wrote .*: 2 functions for' "$LAST_OUT" "each function once"

LD_LIBRARY_PATH=$WORK/src/.libs start_target t ./src/.libs/server
pid=$LAST_PID
wait_for_log t '^value 21 weight=8 n=[0-9]+$'

step "apply"
apply_ok "$pid" fix.so lt
wait_for_log t '^value 28 weight=9 n=[0-9]+$' 2

step "revert"
revert_ok "$pid" lt
wait_for_log t '^value 21 weight=8 n=[0-9]+$' 2
finish_target t '^BAD'

# Only the objects linked into --binary are compared. The tree also builds a test
# program (its own main, changed by the fix too, as security fixes often do) and
# compiles calc.c a second time, position-independent, for a shared library the
# program does not use (as libtool does for every source): neither is part of app,
# so the fix is compute() and util_double() (the latter from an archive member,
# matched to its object) and nothing else: no refusal for the test's main, no
# function replaced twice.
cp -r "$CASE_DIR/project" src
(cd src && make -s) >build.log 2>&1 || { cat build.log >&2; fail "building the project failed"; }

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id link-scope
assert_match '^changed: compute \(calc\.c\)$' "$LAST_OUT" "compute is changed"
assert_match '^changed: util_double \(util\.c\)$' "$LAST_OUT" "util_double (an archive member) is changed"
assert_no_match 'main|refused|test_main|calc-pic' "$LAST_OUT" "nothing of the test program or the second copy"
assert_match '^wrote .*/fix\.so: 2 functions for build-id' "$LAST_OUT" "two functions, each once"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^compute\(7\)=21 double\(5\)=10$'

step "apply"
apply_ok "$pid" fix.so link-scope
wait_for_log t '^compute\(7\)=28 double\(5\)=11$' 2

step "revert"
revert_ok "$pid" link-scope
wait_for_log t '^compute\(7\)=21 double\(5\)=10$' 2
finish_target t '^BAD'

step "a build that copies the program after linking it: the link is found by the program's bytes"
cp -r "$CASE_DIR/project" copied
copy_build='make -s && mkdir -p bin && cp app bin/server'
(cd copied && sh -c "$copy_build") >>build.log 2>&1 || fail "building the copied variant failed"
expect_success hp create --src copied --diff "$CASE_DIR/fix.diff" --build "$copy_build" --binary bin/server -o copied.so
assert_match '^changed: util_double \(util\.c\)$' "$LAST_OUT" "the archive member is found through the copied program's link"
assert_no_match 'main|refused|note: the link' "$LAST_OUT" "only the program's objects"

step "compiled and linked in one command: no object files, said so"
cp -r "$CASE_DIR/project" onestep
one_build='cc -O2 -g -o app main.c calc.c util/util.c'
(cd onestep && sh -c "$one_build") >>build.log 2>&1 || fail "building the one-step variant failed"
expect_fail 2 'uses no object file that the build compiled in the tree \(compiled and linked in one command\?\)' \
  hp create --src onestep --diff "$CASE_DIR/fix.diff" --build "$one_build" --binary app -o onestep.so

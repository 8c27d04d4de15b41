# A bundled library that the project's Makefile builds only once, behind a stamp file
# (redis's deps/): create deletes its archive and objects from its copy so that the
# build compiles them through the wrapper, and the build cannot make them again.
# create says which file is missing and what --build must do (exit 2, not a bare
# link error); with a --build that builds the library too, the fix to it goes live.
cp -r "$CASE_DIR/project" src
(cd src && make -s) >build.log 2>&1 || { cat build.log >&2; fail "building the project failed"; }

step "create with the project's make: the bundled library is not built again"
expect_fail 2 "^create deleted vendor/libv\\.a from its copy of the tree .*give --build a command that builds it too" \
  hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id stamp --work work
assert_match "cannot find vendor/libv\\.a|vendor/libv\\.a: No such file" "$LAST_ERR" "the build's own error is shown too"

step "create with a --build that builds the library first"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --build 'make -C vendor && make' --binary app \
  -o fix.so --id stamp --work work
assert_match '^changed: v_step \(v\.c\)$' "$LAST_OUT" "the bundled library's function is changed"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^v_step\(3\)=4$'
apply_ok "$pid" fix.so stamp
wait_for_log t '^v_step\(3\)=5$' 2
revert_ok "$pid" stamp
wait_for_log t '^v_step\(3\)=4$' 2
finish_target t '^BAD'

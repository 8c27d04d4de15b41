# Objects whose sources changed are compiled again even when the project's build
# does not: a header-only fix in a Makefile without header dependencies (check.o
# includes policy.h) and a fix in a vendored library that the top-level Makefile
# builds only when its archive is missing. create says which objects it compiled
# itself, and the patch changes what the program does.
cp -r "$CASE_DIR/project" src
(cd src && make -s) >build.log 2>&1 || { cat build.log >&2; fail "building the project failed"; }

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id unbuilt
assert_match '^recompiled: check\.o \(the build did not compile it again; it depends on policy\.h\)$' "$LAST_OUT" \
  "check.o compiled by create"
assert_match '^recompiled: vendor/v\.o \(the build did not compile it again; it depends on vendor/v\.c\)$' "$LAST_OUT" \
  "the vendored object compiled by create"
assert_match '^changed: over_limit \(check\.c\)$' "$LAST_OUT" "the header's user is changed"
assert_match '^changed: v_step \(v\.c\)$' "$LAST_OUT" "the vendored function is changed"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^v_step\(3\)=4 over_limit\(7\)=0$'

step "apply"
apply_ok "$pid" fix.so unbuilt
wait_for_log t '^v_step\(3\)=5 over_limit\(7\)=1$' 2

step "revert"
revert_ok "$pid" unbuilt
wait_for_log t '^v_step\(3\)=4 over_limit\(7\)=0$' 2
finish_target t '^BAD'

step "-MMD and a header of the project found through -isystem"
cp -r "$CASE_DIR/mmd" mmd
(cd mmd && make -s) >>build.log 2>&1 || { cat build.log >&2; fail "building the -MMD project failed"; }
grep -q policy.h mmd/check.d && fail "check.d lists policy.h: the case tests nothing"
expect_success hp create --src mmd --diff "$CASE_DIR/mmd/fix.diff" --binary app -o mmd.so --id mmd
assert_match '^changed: over_limit \(check\.c\)$' "$LAST_OUT" "the header's user is changed"
start_target m ./mmd/app
wait_for_log m '^over_limit\(7\)=0$'
apply_ok "$(pid_of m)" mmd.so mmd
wait_for_log m '^over_limit\(7\)=1$' 2
finish_target m '^BAD'

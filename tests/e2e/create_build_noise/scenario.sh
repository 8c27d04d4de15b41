# Build noise is found and left out: the build puts the time on calc.c's command
# line (-DBUILD_STAMP) and makes version.h again every time; calc.c also uses
# __DATE__ and __TIME__ (fixed by SOURCE_DATE_EPOCH). The fix changes compute()
# only: banner() (same source, another stamp) is not part of the patch, and main.o
# (only version.h changed) is left out with a note, not refused for changing main.
# The second build of the unchanged tree compiles only the objects it is asked
# about (calc.o, main.o), not util.o; a warm create on the same --work knows the
# noise and builds the unchanged tree no more.
cp -r "$CASE_DIR/project" src
(cd src && make -s) >build.log 2>&1 || { cat build.log >&2; fail "building the project failed"; }

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id noise --work w
assert_match '^changed: compute \(calc\.c\)$' "$LAST_OUT" "compute is changed"
assert_no_match 'banner|main \(|refused' "$LAST_OUT" "no noise in the patch"
assert_match '^recompiled: calc\.o \(with its command line as in the unpatched build: build noise\)$' "$LAST_OUT" \
  "calc.o compiled again with the unpatched build's stamp"
assert_match '^note: main\.o: left out: it differs, but none of its inputs does except version\.h \(build noise\)$' \
  "$LAST_OUT" "main.o left out"
assert_match '^note: the command that compiles calc\.o changed: the unchanged tree was built once more to tell build noise from the fix, for (calc\.o, main\.o|main\.o, calc\.o) \(kept with --work\)$' \
  "$LAST_OUT" "a second build of the unchanged tree, and why"
assert_match '^wrote .*: 1 function for' "$LAST_OUT" "one function"
# The noise build's part of the work directory's build log: what it compiled.
noise_log=$(awk '/^==== /{on = /to find build noise/} on' w/build.log)
assert_match 'calc\.c' "$noise_log" "the noise build compiled calc.c again"
assert_match 'main\.c' "$noise_log" "the noise build compiled main.c again"
assert_no_match 'util\.c' "$noise_log" "the noise build left util.c alone (nothing asked about it)"

step "a warm create on the same --work: the noise is known, no second build"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix2.so --id noise --work w
assert_match '^changed: compute \(calc\.c\)$' "$LAST_OUT" "compute is changed"
assert_no_match 'banner|main \(|refused|built once more' "$LAST_OUT" "no noise in the patch, no second build"
assert_match '^recompiled: calc\.o \(with its command line as in the unpatched build: build noise\)$' "$LAST_OUT" \
  "calc.o compiled again with the unpatched build's stamp"
[ "$(grep -c 'to find build noise' w/build.log)" = 1 ] || fail "the unchanged tree was built for noise more than once"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^compute\(7\)=21 banner=[0-9]+$'

step "apply"
apply_ok "$pid" fix.so noise
wait_for_log t '^compute\(7\)=28 banner=[0-9]+$' 2

step "revert"
revert_ok "$pid" noise
wait_for_log t '^compute\(7\)=21 banner=[0-9]+$' 2
finish_target t '^BAD'

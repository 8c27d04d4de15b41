# A fix that adds a source file (and the Makefile line that builds it): the new
# file's functions and variables are linked inside the patch like those of a
# changed file. Its file-local function has the name of another file's: the patch
# calls its own. The --work tree is left exactly as it was: a later create with
# another fix does not see the new file.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

step "create: the fix adds extra/bonus.c"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app --work work -o fix.so --id newfile
assert_match '^changed: compute \(calc\.c\)$' "$LAST_OUT" "report: the changed function"
assert_match '^new file: extra/bonus\.o$' "$LAST_OUT" "report: the object of the new file"
assert_match '^new function: add_bonus \(bonus\.c\)$' "$LAST_OUT" "report: the new file's function"
assert_match '^new function: helper \(bonus\.c\)$' "$LAST_OUT" "report: the new file's file-local function"
assert_match '^carried data: calls\.[0-9]+ \(bonus\.c\)$' "$LAST_OUT" "report: the new file's function-local static"
[ ! -e work/tree/extra/bonus.c ] || fail "the new file was left in the --work tree"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^compute\(7\)=21 version=1$'

step "apply"
apply_ok "$pid" fix.so newfile
# add_bonus(21) = its own helper (x * 10) + 1; util.c's helper would give 23.
wait_for_log t '^compute\(7\)=211 version=1$' 2
expect_output t '^compute\(7\)=211 version=1$' 2

step "revert"
revert_ok "$pid" newfile
wait_for_log t '^compute\(7\)=21 version=1$' 2

step "the same --work, another fix: the new file is gone"
expect_success hp create --src src --diff "$CASE_DIR/plain.diff" --binary app --work work -o plain.so --id plain
assert_match '^changed: compute \(calc\.c\)$' "$LAST_OUT" "report: the changed function"
assert_no_match 'bonus' "$LAST_OUT" "the second create saw the first fix's file"
apply_ok "$pid" plain.so plain
wait_for_log t '^compute\(7\)=28 version=1$' 2
revert_ok "$pid" plain
finish_target t '^BAD'

step "a fix that moves a variable into the new file is refused, not given a second copy"
expect_fail 5 'cannot make a live patch' hp create --src src --diff "$CASE_DIR/moved.diff" --binary app --work work -o moved.so
assert_match '^refused: util_calls \(bonus\.c\): defined here by the fix, but the program already has this global variable' \
  "$LAST_OUT" "the reason names the moved variable"
[ ! -e moved.so ] || fail "a refused patch was written"

# hotpatch create on C++ inline functions of a header: every object that uses one
# has its own copy (a weak symbol in a COMDAT group; the program has one), and so
# does every object that uses an inline function's static (STB_GNU_UNIQUE). The fix
# changes scale() (in left.o and right.o: one replacement, not two), adds bonus()
# to the header (new in both objects: one copy in the patch) and makes bonus() call
# ticks(), which left.cpp and right.cpp never used before: ticks()'s counter is the
# program's, not a new variable of the patch (that would count from 0 beside it).
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so
assert_eq 1 "$(grep -c '^changed: _Z5scalei ' <<<"$LAST_OUT")" "one replacement of scale()"
assert_eq 1 "$(grep -c '^new function: _Z5bonusi ' <<<"$LAST_OUT")" "one copy of the new bonus()"
assert_no_match '^carried data: _ZZ5ticksvE1n' "$LAST_OUT" "ticks()'s counter (the program's)"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^left=21 right=22 ticks=[0-9]+$'
step "apply"
apply_ok "$pid" fix.so fix
wait_for_log t '^left=131 right=132 ticks=[0-9]+$' 2
expect_output t '^left=131 right=132 ticks=[0-9]+$' 3
# bonus() counts on the program's counter: 3 calls a line (main, left, right), so
# consecutive lines differ by 3 (by 1 if the patch had a counter of its own).
steps=$(grep -E '^left=131 ' "$WORK/t.log" | sed 's/.*ticks=//' | tail -n 4 |
        awk 'NR > 1 { printf "%d ", $1 - prev } { prev = $1 }')
assert_eq "3 3 3 " "$steps" "ticks from line to line while patched"
step "revert"
revert_ok "$pid" fix
wait_for_log t '^left=21 right=22 ticks=[0-9]+$' 2
finish_target t '^BAD'

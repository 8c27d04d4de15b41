# func upgrade / rollback while 8 threads call the function in a tight loop: every
# call returns a result of the old or the new code (never a crash, never garbage),
# and each version really runs after its switch.
EX=$(dirname "$HOTPATCH")/examples
cp "$EX/libadd_func_patch1.so" "$EX/libadd_func_patch2.so" "$WORK/"
start_target s "$EX/simple_server" --interval_ms=50 --threads=8
pid=$LAST_PID
wait_for_log s '^ready pid='
wait_for_log s 'calls=[0-9]+/0/0$'

# counts: the calls=A/B/C of the newest status line.
counts() { _new_lines s; local l; l=$(last_match s 'calls='); echo "${l##*calls=}"; }

expect_success hp -p "$pid" lib load p1 "$WORK/libadd_func_patch1.so"
expect_success hp -p "$pid" lib load p2 "$WORK/libadd_func_patch2.so"
for round in 1 2 3; do
  step "round $round: upgrade to patch1, stack patch2, roll both back"
  expect_success hp -p "$pid" func upgrade p1 add_func
  wait_for_log s 'add_func\(1,2\)=1003 '
  IFS=/ read -r a1 b1 c1 <<<"$(counts)"
  nap 0.2
  IFS=/ read -r a2 b2 c2 <<<"$(counts)"
  [ "$b2" -gt "$b1" ] || fail "patch1 calls did not grow while upgraded ($b1 -> $b2)"
  expect_success hp -p "$pid" func upgrade p2 add_func add_func_v2
  wait_for_log s 'add_func\(1,2\)=2003 '
  nap 0.2
  IFS=/ read -r a3 b3 c3 <<<"$(counts)"
  [ "$c3" -gt "$c2" ] || fail "patch2 calls did not grow while upgraded ($c2 -> $c3)"
  expect_success hp -p "$pid" func rollback add_func
  wait_for_log s 'add_func\(1,2\)=1003 '
  expect_success hp -p "$pid" func rollback add_func
  wait_for_log s 'add_func\(1,2\)=3 '
  IFS=/ read -r a4 b4 c4 <<<"$(counts)"
  nap 0.2
  IFS=/ read -r a5 b5 c5 <<<"$(counts)"
  [ "$a5" -gt "$a4" ] || fail "original calls did not grow after rollback ($a4 -> $a5)"
  expect_fail 8 "nothing to roll back" hp -p "$pid" func rollback add_func
done
expect_success hp -p "$pid" lib unload p1
expect_success hp -p "$pid" lib unload p2
nap 0.3
finish_target s

# "paused" is the longest time one thread of the program was held, from its stop to
# its resume, whatever held it: here the thread borrowed for the patch's dlopen,
# whose constructor takes 300 ms (the stop itself takes well under a millisecond).
# The line and --json name that thread.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^compute\(7\)=21$'
wait_for_syscall "$pid" 230 # the main thread in its sleep: the one borrowed

step "apply: the borrowed thread runs the patch's 300 ms constructor"
apply_ok "$pid" patch.so slow-fix
pause=$(sed -nE 's/.*paused ([0-9]+) us .*/\1/p' <<<"$LAST_OUT")
held=$(sed -nE 's/.*longest thread ([0-9]+)\)$/\1/p' <<<"$LAST_OUT")
note "paused $pause us, thread $held"
[ "$pause" -ge 300000 ] || fail "apply reported a pause of $pause us; thread $pid was held at least 300 ms"
assert_eq "$pid" "$held" "the thread held longest"
wait_for_log t '^compute\(7\)=70$' 2

step "revert --json: no constructor now; pause_us and pause_thread"
expect_success hp -p "$pid" revert slow-fix --json
pause=$(python3 -c 'import json, sys
r = json.loads(sys.stdin.read())["processes"][0]["reverted"][0]
print(r["pause_us"], r["pause_thread"])' <<<"$LAST_OUT") || fail "revert --json has no pause_us/pause_thread: $LAST_OUT"
note "revert: pause_us pause_thread = $pause"
[ "${pause%% *}" -lt 300000 ] || fail "revert reported a pause of ${pause%% *} us"
[ "${pause##* }" -gt 0 ] || fail "revert --json names no thread"
wait_for_log t '^compute\(7\)=21$' 2
finish_target t

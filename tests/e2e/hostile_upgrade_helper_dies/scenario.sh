# The runtime's `func upgrade` when its helper dies after writing (issue 11, item 4):
# the helper (the hotpatch CLI) writes the jump with every thread stopped, then
# reports; here a wrapper kills itself once the real helper has written. The
# runtime must not leave a jump the registry does not know about: the upgrade is
# recorded (and can be rolled back), the program runs the new code meanwhile.
# Then the same for a rollback whose helper dies after restoring the entry.
BUILD=$(dirname "$HOTPATCH")
build_target target "$E2E_DIR/common/ticker.c"
cc -shared -fPIC -O2 -o "$WORK/lib.so" "$E2E_DIR/common/ticker_v2.c" || fail "cannot build lib.so"
cat >"$WORK/helper" <<WRAPPER
#!/bin/sh
# The real helper, then, when $WORK/die exists and this was a write: death, unreported.
"$HOTPATCH" "\$@"
rc=\$?
case " \$* " in *" write-code "*) if [ -e "$WORK/die" ]; then rm -f "$WORK/die"; kill -KILL \$\$; fi ;; esac
exit \$rc
WRAPPER
chmod 755 "$WORK/helper"

start_target t env LD_PRELOAD="$BUILD/libhotpatch_preload.so" HOTPATCH_CLI="$WORK/helper" ./target
pid=$LAST_PID
wait_for_log t '^ready pid='
wait_for_log t '^tick compute=21$'
expect_success hp -p "$pid" lib load l "$WORK/lib.so"

step "func upgrade: the helper dies after writing the jump"
touch "$WORK/die"
run_cmd hp -p "$pid" func upgrade l compute compute_v2
note "exit $LAST_RC: $LAST_ERR"
[ ! -e "$WORK/die" ] || fail "the wrapper did not run write-code"
mark_log t
expect_output t '^tick compute=70$' 3   # the jump is in place...
expect_success hp -p "$pid" list
assert_match '^func:compute' "$LAST_OUT" "list after the helper died"   # ...and recorded
expect_success hp -p "$pid" func rollback compute
mark_log t
expect_output t '^tick compute=21$' 3
expect_success hp -p "$pid" list
assert_match '^no patches applied$' "$LAST_OUT" "list after the rollback"

step "func rollback: the helper dies after restoring the entry"
expect_success hp -p "$pid" func upgrade l compute compute_v2
mark_log t
expect_output t '^tick compute=70$' 3
touch "$WORK/die"
run_cmd hp -p "$pid" func rollback compute
note "exit $LAST_RC: $LAST_ERR"
mark_log t
expect_output t '^tick compute=21$' 3
expect_success hp -p "$pid" list
assert_match '^no patches applied$' "$LAST_OUT" "list after the rollback whose helper died"
expect_success hp -p "$pid" func upgrade l compute compute_v2   # and it can be done again
mark_log t
expect_output t '^tick compute=70$' 3
expect_success hp -p "$pid" func rollback compute
finish_target t

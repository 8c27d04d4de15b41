# The helper the runtime starts for `func upgrade` (the hotpatch CLI, with the right
# to trace the process) gets an allow-listed environment, not the program's (issue
# 11, item 9): nothing the program was started with (LD_LIBRARY_PATH, LD_AUDIT,
# MALLOC_*, its own variables) reaches it. The helper here is a wrapper (named by
# HOTPATCH_CLI) that records its environment, then runs the real CLI.
BUILD=$(dirname "$HOTPATCH")
build_target target "$E2E_DIR/common/ticker.c"
cc -shared -fPIC -O2 -o "$WORK/lib.so" "$E2E_DIR/common/ticker_v2.c" || fail "cannot build lib.so"
cat >"$WORK/helper" <<WRAPPER
#!/bin/sh
env > "$WORK/helper.env"
exec "$HOTPATCH" "\$@"
WRAPPER
chmod 755 "$WORK/helper"

start_target t env LD_PRELOAD="$BUILD/libhotpatch_preload.so" HOTPATCH_CLI="$WORK/helper" \
  LD_LIBRARY_PATH=/nonexistent-hostile MALLOC_ARENA_MAX=1 PROGRAM_SECRET=hostile ./target
pid=$LAST_PID
wait_for_log t '^ready pid='
wait_for_log t '^tick compute=21$'

expect_success hp -p "$pid" lib load l "$WORK/lib.so"
expect_success hp -p "$pid" func upgrade l compute compute_v2
wait_for_log t '^tick compute=70$'
[ -s "$WORK/helper.env" ] || fail "the helper wrapper did not run (no helper.env)"
env_seen=$(cat "$WORK/helper.env")
for name in LD_LIBRARY_PATH MALLOC_ARENA_MAX PROGRAM_SECRET LD_PRELOAD HOTPATCH_CLI; do
  assert_no_match "^$name=" "$env_seen" "the helper's environment"
done
assert_match '^PATH=' "$env_seen" "the helper's environment"
note "helper environment: $(cut -d= -f1 "$WORK/helper.env" | tr '\n' ' ')"
expect_success hp -p "$pid" func rollback compute
wait_for_log t '^tick compute=21$'
finish_target t

# Targets that exit (or die) around an apply: the CLI reports success or exit 3
# ("exited while we worked"), in bounded time, and never crashes or hangs.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"

# timed_apply PID [ARGS]: runs apply, sets LAST_RC and TOOK_MS; a crash of the CLI
# (killed by a signal: 128+N) or a hang (timeout: 124) fails the case.
timed_apply() {
  local pid=$1 start
  shift
  start=${EPOCHREALTIME/./}
  HP_TIMEOUT=20 run_cmd hp -p "$pid" apply patch.so "$@"
  TOOK_MS=$(((${EPOCHREALTIME/./} - start) / 1000))
  if [ "$LAST_RC" -eq 124 ] || [ "$LAST_RC" -ge 128 ]; then
    _show_run hp -p "$pid" apply patch.so "$@"
    fail "the CLI hung or crashed (exit $LAST_RC) on a target that exited"
  fi
}

step "a zombie (exited, not yet reaped): exit 3"
start_target zombie bash -c 'sleep 0.1 & echo "child $!"; exec sleep 60'
wait_for_log zombie '^child [0-9]+$'
zpid=$(sed -nE 's/^child ([0-9]+)$/\1/p' zombie.log)
expect_state "$zpid" Z
expect_fail 3 "process $zpid: is a zombie" hp -p "$zpid" apply patch.so
expect_fail 3 "process $zpid: is a zombie" hp -p "$zpid" list
expect_fail 3 "process $zpid: is a zombie" hp -p "$zpid" revert fix-exits
expect_fail 3 "process $zpid: is a zombie" hp -p "$zpid" revert --all
expect_state "$zpid" Z # (untouched: still a zombie, and we did not reap it)
stop_target zombie

step "the target exits while apply waits for a busy function: exit 3"
start_target busy ./target busy 1500
pid=$LAST_PID
wait_for_log busy '^ready'
timed_apply "$pid" --timeout 15000
assert_eq 3 "$LAST_RC" "exit code of apply on a target that exited during it (stderr: $LAST_ERR)"
note "exit 3 after $TOOK_MS ms: $LAST_ERR"
[ "$TOOK_MS" -lt 8000 ] || fail "apply took $TOOK_MS ms to notice that the target had exited (at 1.5 s)"
wait_for_log busy '^exiting$' 1

step "the target is killed (SIGKILL) while apply waits: exit 3"
start_target busy2 ./target busy 60000
pid=$LAST_PID
wait_for_log busy2 '^ready'
disown "$pid" # (no "Killed" job notice from bash)
(sleep 0.7; kill -KILL "$pid") &
timed_apply "$pid" --timeout 15000
assert_eq 3 "$LAST_RC" "exit code of apply on a target killed during it (stderr: $LAST_ERR)"
note "exit 3 after $TOOK_MS ms: $LAST_ERR"
[ "$TOOK_MS" -lt 8000 ] || fail "apply took $TOOK_MS ms to notice that the target was killed"

step "targets that exit at random moments around the apply: exit 0 or 3"
declare -A seen=()
for i in $(seq 10); do
  life=$((RANDOM % 400 + 100)) # an apply takes about that long
  start_target "r$i" ./target plain "$life"
  pid=$LAST_PID
  wait_for_log "r$i" '^ready' # (else we might patch the shell that is about to exec it)
  sleep "0.0$((RANDOM % 10))"
  timed_apply "$pid"
  case $LAST_RC in
    0 | 3) ;;
    *) _show_run hp -p "$pid" apply patch.so; fail "apply on a target living ${life} ms: expected exit 0 or 3, got $LAST_RC" ;;
  esac
  seen[$LAST_RC]=$((${seen[$LAST_RC]:-0} + 1))
  wait "$pid" 2>/dev/null && rc=0 || rc=$?
  [ "$rc" -eq 0 ] || fail "target r$i (life $life ms) ended with status $rc instead of exiting normally"
  expect_log_lacks "r$i" '^BAD'
done
note "exit 0: ${seen[0]:-0} times, exit 3: ${seen[3]:-0} times"

# SIGTERM arrives while the thread that waits for it in epoll_pwait is held by
# apply's stop (after our interrupt made its call fail with EINTR). The program
# must see the EINTR its handler implies, whether apply resumes the thread itself
# or is SIGKILLed while holding it (the kernel resumes it then).
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^loop tid=[0-9]+$'
loop=$(sed -nE 's/^loop tid=([0-9]+)$/\1/p' t.log)
wait_for_syscall "$loop" 281 # epoll_pwait
step "first apply and revert (loads the runtime)"
apply_ok "$pid" patch.so held-fix
revert_ok "$pid" held-fix

for ending in resumed killed; do
  step "SIGTERM while thread $loop is held by apply's stop; apply then $ending"
  wait_for_syscall "$loop" 281
  seen=$(grep -c '^SIGTERM seen by epoll_pwait$' t.log || true)
  stop_cli_at apply:world-stopped -p "$pid" apply patch.so
  _proc_state "$pid/task/$loop"
  [ "$_STATE" = t ] || fail "thread $loop is not held (state $_STATE)"
  kill -TERM "$pid"
  nap 0.1
  if [ "$ending" = resumed ]; then
    kill -CONT "$CLI_PID"
    wait "$CLI_PID" && rc=0 || rc=$?
    [ "$rc" -eq 0 ] || fail "apply, resumed after its stop, exited $rc: $(cat cli.err)"
  else
    kill -KILL "$CLI_PID"
    wait "$CLI_PID" 2>/dev/null || true
  fi
  _deadline 3
  until [ "$(grep -c '^SIGTERM seen by epoll_pwait$' t.log || true)" -gt "$seen" ]; do
    _past "$_DEADLINE" && fail "the event loop never saw the SIGTERM sent while it was held (its epoll_pwait was re-run)"
    nap 0.02
  done
  note "the event loop saw SIGTERM"
  expect_alive "$pid"
  if [ "$ending" = resumed ]; then
    wait_for_log t '^compute\(7\)=70$' 2
    revert_ok "$pid" held-fix
  fi
done
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list at the end"
finish_target t

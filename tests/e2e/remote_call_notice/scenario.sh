# Remote calls (the dlopen of the runtime and of the patch) run without
# stopping at each of their syscalls when the return pad can end them with a notice
# signal the program does not use: SIGURG, else SIGWINCH, else none (every syscall
# stops, as before). Checks, for each choice: the steps show which way the calls
# went; the program never sees the notice, even when the CLI is SIGKILLed at the
# notice stop (the kernel then delivers it: a wrong choice would run the program's
# handler); no notice is left pending; signal masks are as they were. And a call
# that blocks the notice signal itself (a patch constructor) still ends.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"
build_patch blocking.so "$CASE_DIR/blocking.c"

# signal_state PID: every thread's blocked mask, and the notice signals (SIGURG,
# SIGWINCH) pending anywhere, as one line to compare before and after.
signal_state() {
  local pid=$1 f text line blocked='' pending=0
  for f in /proc/"$pid"/task/*/status; do
    text=$(<"$f") || continue
    while IFS= read -r line; do
      case $line in
        SigBlk:*) blocked+="${line#SigBlk:}" ;;
        SigPnd:* | ShdPnd:*) pending=$((pending | 0x${line#*:[[:space:]]})) ;;
      esac
    done <<<"$text"
  done
  echo "blocked=${blocked//[[:space:]]/,} notices_pending=$((pending & ((1 << 22) | (1 << 27))))"
}

count_steps() { grep -cE -- "$1" <<<"$STEPS" || true; }

for mode in plain catch-urg catch-both; do
  step "$mode: apply and revert"
  start_target "$mode" ./target "$mode"
  pid=$LAST_PID
  wait_for_log "$mode" "^ready pid=$pid mode=$mode"
  expect_output "$mode" '^compute\(7\)=21 urg=0 winch=0$' 2
  before=$(signal_state "$pid")
  steps_of -p "$pid" apply patch.so
  notices=$(count_steps ':call-[0-9]+-dlopen:notice$')
  calls=$(count_steps ':call-[0-9]+-dlopen:started$')
  note "apply: $calls dlopen calls, $notices ended by a notice"
  [ "$calls" -ge 2 ] || fail "expected the runtime's and the patch's dlopen, saw $calls"
  if [ "$mode" = catch-both ]; then
    assert_eq 0 "$notices" "notice stops when the program catches both signals"
  else
    assert_eq "$calls" "$notices" "dlopen calls ended by the notice"
  fi
  wait_for_log "$mode" '^compute\(7\)=70 urg=0 winch=0$' 2
  steps_of -p "$pid" revert fix-compute
  # A revert keeps the patch's code mapped (docs/cli.md#revert): no dlclose.
  assert_eq 0 "$(count_steps ':call-[0-9]+-dlclose:')" "dlclose calls made by the revert"
  wait_for_log "$mode" '^compute\(7\)=21 urg=0 winch=0$' 2
  assert_eq "$before" "$(signal_state "$pid")" "signal state after apply and revert"

  if [ "$mode" != catch-both ]; then
    steps_of -p "$pid" apply patch.so
    expect_success hp -p "$pid" revert fix-compute
    # Killed inside the call, the thread runs the rest of it untraced, and the pad
    # sends the notice for real: the kernel applies the program's disposition (a
    # wrong choice of signal would run its handler). Killed at the notice stop, the
    # signal is left to the kernel too.
    for where in inside notice; do
      step "$mode: the CLI is killed at the '$where' step of the patch's dlopen"
      kill_step=$(grep -E ":call-[0-9]+-dlopen:$where\$" <<<"$STEPS" | tail -n 1)
      [ -n "$kill_step" ] || fail "no $where step to stop at"
      kill_at "$kill_step" -p "$pid" apply patch.so
      expect_alive "$pid"
      mark_log "$mode"
      nap 0.1
      expect_output "$mode" '^compute\(7\)=21 urg=0 winch=0$' 2
      expect_success hp -p "$pid" revert --all
      assert_eq "$before" "$(signal_state "$pid")" "signal state after the kill"
    done
  fi
  expect_log_lacks "$mode" 'urg=[1-9]|winch=[1-9]'
  finish_target "$mode"
done

step "a call that blocks the notice signal on its own thread still ends"
start_target blocked ./target plain
pid=$LAST_PID
wait_for_log blocked "^ready pid=$pid mode=plain"
before=$(signal_state "$pid")
steps_of -p "$pid" apply blocking.so
assert_eq 1 "$(count_steps ':call-[0-9]+-dlopen:notice-after-return$')" "dlopen calls that blocked their notice"
wait_for_log blocked '^compute\(7\)=70 urg=0 winch=0$' 2
assert_eq "$before" "$(signal_state "$pid")" "signal state after the blocking constructor ran (the frame restores the mask)"
revert_ok "$pid" fix-compute-blocking
wait_for_log blocked '^compute\(7\)=21 urg=0 winch=0$' 2
finish_target blocked

# A CLI that waits on a process stays stoppable (issue 11, item 1): SIGTERM or
# SIGINT end it within a moment ("interrupted", then the signal), and the target is left as
# it was -- or, for a remote call already running, left to finish it on its own,
# as after a SIGKILL of the CLI.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"
build_patch patch_spin.so "$CASE_DIR/patch_spin.c"
build_patch patch_slow.so "$CASE_DIR/patch_slow.c"
start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready pid='
wait_for_log t '^tick compute=21$'

# interrupt_cli SIGNAL ARGS...: starts the CLI, sends SIGNAL after 1 s, expects it
# gone within 2 s more with "interrupted by SIG..." (exit 10) on stderr, then ended by
# the deferred signal itself (docs/cli.md: a shell sees 128+N).
interrupt_cli() {
  local sig=$1 cli rc end
  shift
  "$HOTPATCH" "$@" >"$WORK/cli.out" 2>"$WORK/cli.err" </dev/null &
  cli=$!
  nap 1
  kill -0 "$cli" 2>/dev/null || fail "the CLI ended before it was sent SIG$sig: $(cat "$WORK/cli.err")"
  # A signal the CLI ignores (SIGINT in a script's background job) is only seen by
  # its waits: exit 10. Otherwise the signal ends it, once the error is printed.
  local ignored expected
  ignored=$(awk '/^SigIgn:/ {print $2}' "/proc/$cli/status")
  if (( (0x$ignored >> ($(kill -l "$sig") - 1)) & 1 )); then expected=10; else expected=$((128 + $(kill -l "$sig"))); fi
  kill -"$sig" "$cli"
  _deadline 2
  end=$_DEADLINE
  while kill -0 "$cli" 2>/dev/null; do
    _past "$end" && { kill -KILL "$cli"; fail "the CLI ignored SIG$sig for 2 s: $(cat "$WORK/cli.err")"; }
    nap 0.02
  done
  wait "$cli" && rc=0 || rc=$?
  note "exit $rc: $(cat "$WORK/cli.err")"
  [ "$rc" -eq "$expected" ] || fail "expected exit $expected (SIG$sig $([ "$expected" = 10 ] && echo ignored || echo delivered)), got $rc"
  grep -q "interrupted by SIG$sig" "$WORK/cli.err" || fail "no 'interrupted by SIG$sig' on stderr"
}

step "SIGTERM while apply waits for a function that is always running"
interrupt_cli TERM -p "$pid" apply patch_spin.so --timeout 60000
expect_alive "$pid"
expect_success hp -p "$pid" list
assert_match '^no patches applied$' "$LAST_OUT" "list after the interrupted apply"

step "SIGINT during a remote call (a patch constructor that takes 4 s)"
interrupt_cli INT -p "$pid" apply patch_slow.so
expect_alive "$pid"
mark_log t
expect_output t '^tick compute=21$' 3   # the other threads never stopped
expect_success hp -p "$pid" list
assert_match '^no patches applied$' "$LAST_OUT" "list after the interrupted call"

step "afterwards, apply and revert work (the borrowed thread finished the call)"
apply_ok "$pid" patch.so fix-compute
wait_for_log t '^tick compute=70$'
revert_ok "$pid" fix-compute
wait_for_log t '^tick compute=21$'
finish_target t '^BAD'

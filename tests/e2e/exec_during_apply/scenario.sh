# Life (issue 5): the target execs itself again and again (every 0.2-1.2 s, from
# the main thread or from another thread) while we apply and revert. Each CLI
# call ends in time (under `timeout`) with success or exit 3 and one error line;
# after each, no thread of the target is left stopped or traced, and the target
# goes on running and exec'ing. (A patch applied just before an exec is gone with
# the old program image, like everything else in it.)
#
# Knob: EXEC_ROUNDS (default 20).
rounds=${EXEC_ROUNDS:-20}
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"

start_target t ./target 0
pid=$LAST_PID
wait_for_log t '^ready pid=[0-9]+ gen=0$'

# expect_running: the target is alive, none of its threads is stopped or traced.
expect_running() {
  local task
  expect_alive "$pid"
  for task in /proc/"$pid"/task/*; do
    _proc_state "$pid/task/${task##*/}"
    [ "$_STATE" = gone ] && continue # (an exec just ended it)
    case $_STATE in T | t) fail "thread ${task##*/} of $pid is left stopped ($_STATE) $1" ;; esac
    _tracer "$pid/task/${task##*/}"
    [ "$_TRACER" = 0 ] || [ "$_TRACER" = '?' ] || fail "thread ${task##*/} of $pid is still traced by $_TRACER $1"
  done
}

declare -A outcomes=()
# cli WHAT ACCEPTED_CODES ARGS...: one CLI call, ending in time with one of the
# accepted codes; a failure has exactly one line, "hotpatch: error: ...".
cli() {
  local what=$1 accepted=$2
  shift 2
  HP_TIMEOUT=45 run_cmd hp -p "$pid" "$@"
  outcomes[$what:$LAST_RC]=$((${outcomes[$what:$LAST_RC]:-0} + 1))
  if [[ " $accepted " != *" $LAST_RC "* ]]; then
    _show_run hp -p "$pid" "$@"
    fail "$what while the target execs: exit $LAST_RC (accepted: $accepted)"
  fi
  if [ "$LAST_RC" -ne 0 ]; then
    assert_match '^hotpatch: error: ' "$LAST_ERR" "error line of $what"
    note "$what: exit $LAST_RC: $LAST_ERR"
  fi
}

# saw_new_code: within 0.5 s of the apply, the reporter printed the new result.
saw_new_code() {
  local line
  _deadline 0.5
  local end=$_DEADLINE
  until _past "$end"; do
    _new_lines t
    for line in "${_LINES[@]}"; do [[ $line =~ ^gen=[0-9]+\ compute\(7\)=70$ ]] && return 0; done
    nap 0.02
  done
  return 1
}

seen_new=0
for ((round = 1; round <= rounds; round++)); do
  step "round $round"
  nap "0.0$((RANDOM % 10))"
  mark_log t
  cli apply "0 3" apply patch.so --timeout 3000
  expect_running "after apply (exit $LAST_RC)"
  if [ "$LAST_RC" -eq 0 ]; then
    # The new code runs until the next exec (which may already have happened).
    saw_new_code && seen_new=$((seen_new + 1))
    # Exit 7: an exec dropped the patch between the two calls.
    cli revert "0 3 7" revert fix-compute --timeout 3000
    expect_running "after revert (exit $LAST_RC)"
  fi
  wait_for_log t '^exec gen=' 5
done

step "the target is still exec'ing and computing"
wait_for_log t '^ready pid=[0-9]+ gen=' 5
wait_for_log t '^gen=[0-9]+ compute\(7\)=21$' 5
expect_running "at the end"
expect_log_lacks t '^BAD'
gens=$(last_match t '^ready' | sed -E 's/.*gen=([0-9]+)$/\1/')
summary=$(for k in "${!outcomes[@]}"; do printf '%s=%s ' "$k" "${outcomes[$k]}"; done)
note "outcomes: $summary; the new code was seen running after $seen_new applies"
[ "${outcomes[apply:0]:-0}" -gt 0 ] || fail "no apply succeeded in $rounds rounds"
echo "SUMMARY exec_during_apply: rounds=$rounds execs=$gens $summary"
finish_target t

# Life (issue 5): the target forks all the time (two threads, short-lived
# children) while we apply and revert. Each CLI call must end in time (under
# `timeout`) and succeed, or fail cleanly with one error line; the parent and
# every child stay well (the parent reaps each child and checks how it ended);
# children forked after an apply run the new code, after a revert the old.
#
# Knob: FORK_ROUNDS (default 10).
rounds=${FORK_ROUNDS:-10}
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"

start_target t nice -n 19 ./target # (see target.c)
pid=$LAST_PID
wait_for_log t '^ready'
wait_for_log t '^compute\(7\)=21 forks=[1-9]'

# counts: FORKS, OLD, NEW from the newest report line.
counts() {
  local line
  line=$(last_match t '^compute')
  [[ $line =~ forks=([0-9]+)\ child_old=([0-9]+)\ child_new=([0-9]+)$ ]] || fail "no report line (last: '$line')"
  FORKS=${BASH_REMATCH[1]} OLD=${BASH_REMATCH[2]} NEW=${BASH_REMATCH[3]}
}
# wait_children KIND: children of that kind (OLD or NEW) keep being counted.
wait_children() {
  local before end
  counts
  before=${!1}
  _deadline 10
  end=$_DEADLINE
  while counts; [ "${!1}" -le "$before" ]; do
    _past "$end" && fail "no new child ran the ${1,,} code within 10 s (forks=$FORKS)"
    nap 0.05
  done
}

# cli ARGS...: one CLI call; exit 0 or a clean failure (one error line), never a
# hang, a crash or another failure. Sets OK=1 on success.
declare -A outcomes=()
cli() {
  HP_TIMEOUT=45 run_cmd hp -p "$pid" "$@"
  outcomes[$1:$LAST_RC]=$((${outcomes[$1:$LAST_RC]:-0} + 1))
  OK=0
  case $LAST_RC in
    0) OK=1 ;;
    6) assert_match '^hotpatch: error: ' "$LAST_ERR" "error line of a refused $1" ;;
    *) _show_run hp -p "$pid" "$@"; fail "$1 while the target forks: exit $LAST_RC" ;;
  esac
}

for ((round = 1; round <= rounds; round++)); do
  step "round $round: apply and revert while the target forks"
  cli apply patch.so --timeout 5000
  [ "$OK" = 1 ] || continue
  wait_for_log t '^compute\(7\)=70 ' 2
  wait_children NEW
  cli revert fix-compute --timeout 5000
  [ "$OK" = 1 ] || fail "revert refused: $LAST_ERR" # (the patch would stay in: later rounds could not apply)
  wait_for_log t '^compute\(7\)=21 ' 2
  wait_children OLD
done

counts
expect_alive "$pid"
expect_log_lacks t '^BAD'
[ "${outcomes[apply:0]:-0}" -gt 0 ] || fail "no apply succeeded in $rounds rounds"
note "forks=$FORKS child_old=$OLD child_new=$NEW outcomes: $(for k in "${!outcomes[@]}"; do printf '%s=%s ' "$k" "${outcomes[$k]}"; done)"
echo "SUMMARY fork_during_apply: rounds=$rounds forks=$FORKS child_old=$OLD child_new=$NEW bad=0" \
  "applied=${outcomes[apply:0]:-0} refused=${outcomes[apply:6]:-0}"
finish_target t

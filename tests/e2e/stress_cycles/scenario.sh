# Stress (issue 5): apply/revert cycles while 32 threads call both patched
# functions (one returns a value, one writes through a pointer) and check every
# result against the old and the new version. After each apply every thread must
# be seen running the new code, after each revert the old; at the end no call gave
# a wrong result, the target never crashed, and its memory grew by exactly one copy
# of the patch per cycle: a revert keeps the patch's code mapped (the program may
# hold pointers into it, docs/cli.md#revert), an apply loads a fresh copy, and
# nothing else is left behind.
#
# Knob: STRESS_CYCLES (default 40, ~35 s here, for make test; make stress runs
# 10 000). A cycle costs ~0.8 s on this 2-core machine, nearly all of it the two
# CLI calls (each ~0.2 s of CPU: process start-up and reading ELF files).
cycles=${STRESS_CYCLES:-40}
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"

start_target t ./target "$WORK/state"
pid=$LAST_PID
wait_for_log t '^ready'

# wait_state REGEX [TIMEOUT_S=5]: waits until the target's state line (see
# target.c) matches REGEX; sets STATE to it. A line caught half-written (seq and
# end differ) is read again.
wait_state() {
  local re=$1 line body
  _deadline "${2:-5}"
  local end=$_DEADLINE
  while :; do
    line=''
    { IFS= read -r line <"$WORK/state"; } 2>/dev/null || true
    if [[ $line =~ ^seq=([0-9]+)\ (.*)\ end=([0-9]+)\ *$ ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[3]}" ]; then
      body=${BASH_REMATCH[2]}
      if [[ $body =~ $re ]]; then
        STATE=$body
        return 0
      fi
    fi
    kill -0 "$pid" 2>/dev/null || fail "the target (pid $pid) died; last state: $line"
    _past "$end" && fail "the target's state did not match /$re/ within ${2:-5}s; last state: $line"
    nap 0.002
  done
}
# state_field NAME: the number NAME=N in STATE.
state_field() { [[ $STATE =~ (^| )$1=([0-9]+) ]] && echo "${BASH_REMATCH[2]}"; }

ALL_OLD='^V=O{32} F=O{32} '
ALL_NEW='^V=N{32} F=N{32} '
wait_state "$ALL_OLD"

declare -a pauses=()
max_attempts=0
# cycle_cli DONE ARGS...: one CLI call that must succeed with the usual line
# ("DONE stress: ..."); keeps its pause and attempts. A hang (timeout: 124) or a
# crash is a failure.
cycle_cli() {
  local what=$1 re
  shift
  run_cmd hp -p "$pid" "$@"
  if [ "$LAST_RC" -ne 0 ]; then
    _show_run hp -p "$pid" "$@"
    fail "cycle $i: $what failed with exit $LAST_RC"
  fi
  re="^${what} stress: 2 functions, ([0-9]+) attempts?, paused ([0-9]+) us \(33 threads, longest thread [0-9]+\)$" # 32 + main
  # The first apply also says how long loading the runtime took, on a line of its own.
  local first=${LAST_OUT%%$'\n'*} rest=''
  [ "$first" = "$LAST_OUT" ] || rest=${LAST_OUT#*$'\n'}
  [[ $first =~ $re ]] || fail "cycle $i: unexpected $what output: $LAST_OUT"
  pauses+=("${BASH_REMATCH[2]}")
  [ "${BASH_REMATCH[1]}" -gt "$max_attempts" ] && max_attempts=${BASH_REMATCH[1]}
  [ -z "$rest" ] || { [ "$i$what" = 1applied ] && [[ $rest =~ ^loaded\ the\ runtime\ in\ [0-9]+\ us\ [^$'\n']*$ ]]; } ||
    fail "cycle $i: unexpected $what output: $LAST_OUT"
  return 0
}

# patch_maps: the target's mappings of patch copies (the file, then fresh memfd copies).
patch_maps() { grep -cE " ($WORK/patch\.so|/memfd:hotpatch:stress \(deleted\))\$" "/proc/$pid/maps" || true; }

step "$cycles apply/revert cycles while 32 threads call value_of() and fill()"
start_s=$SECONDS
for ((i = 1; i <= cycles; i++)); do
  cycle_cli applied apply patch.so
  wait_state "$ALL_NEW"
  cycle_cli reverted revert stress
  wait_state "$ALL_OLD"
  if [ "$i" = 1 ]; then
    maps_after_first=$(wc -l <"/proc/$pid/maps")
    per_copy=$(patch_maps)
    calls_before=$(state_field calls)
  fi
  if ((i % 500 == 0)) || [ "$i" = "$cycles" ]; then
    note "cycle $i/$cycles: $STATE"
  fi
  [ "$(state_field wrong)" = 0 ] || fail "cycle $i: the threads saw wrong results: $STATE"
done
took_s=$((SECONDS - start_s))

step "results"
wait_state "$ALL_OLD"
expect_alive "$pid"
expect_log_lacks t '^BAD'
assert_eq 0 "$(state_field wrong)" "wrong results counted by the target"
calls=$(state_field calls)
[ "$calls" -gt "$calls_before" ] || fail "the threads stopped calling (calls=$calls)"
[ "$(state_field new)" -gt 0 ] || fail "no call ever ran the new code: $STATE"
maps_now=$(wc -l <"/proc/$pid/maps")
kept=$(patch_maps)
[ "$per_copy" -gt 0 ] || fail "no mapping of the patch after the first cycle's revert (a revert keeps it)"
assert_eq $((cycles * per_copy)) "$kept" "mappings of patch copies after $cycles cycles ($per_copy per copy, one copy per apply)"
expect_success hp -p "$pid" list --json
kept_bytes=$(python3 -c 'import json,sys; k=json.load(sys.stdin)["processes"][0]["kept"]; print(k["copies"], k["bytes"])' <<<"$LAST_OUT")
assert_match "^$cycles [0-9]+\$" "$kept_bytes" "list --json: kept copies and bytes"
# Besides the copies, each cycle keeps at most its stub page (anonymous, maybe
# merged with a neighbour); anything more per cycle would show here. The slack is
# for malloc: a borrowed thread's first malloc may create an arena (2 mappings, at
# most 8 per core).
[ $((maps_now - kept)) -le $((maps_after_first - per_copy + (cycles - 1) + 40)) ] ||
  fail "the target has $maps_now mappings after $cycles cycles ($kept of patch copies), $maps_after_first after the first: something else is left behind"
sorted=$(printf '%s\n' "${pauses[@]}" | sort -n)
median=$(sed -n "$(((${#pauses[@]} + 1) / 2))p" <<<"$sorted")
max=$(tail -n 1 <<<"$sorted")
echo "SUMMARY stress_cycles: cycles=$cycles seconds=$took_s calls=$calls old=$(state_field old) new=$(state_field new)" \
  "wrong=0 crashes=0 pause_median_us=$median pause_max_us=$max max_attempts=$max_attempts maps=$maps_now" \
  "kept_bytes_per_cycle=$((${kept_bytes#* } / cycles))"
finish_target t

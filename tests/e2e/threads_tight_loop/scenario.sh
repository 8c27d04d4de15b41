# 8 threads hammer compute() while the patch goes in and out 4 times. Every call
# gives the old or the new result, never anything else; after each apply/revert
# every thread that has run since shows the new/old behaviour; nothing crashes.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
wait_for_log t '^state O{8} '
expect_output t '^state O{8} ' 3

# settled N|O: once every thread has made 1000 calls since apply/revert returned,
# every one of them gives the new (N) or old (O) result. Judged by calls, not by the
# clock: on 2 loaded cores one of 9 busy threads may get no CPU for a second. A
# thread that makes no call for 10 s (left stopped?) fails, with its /proc state.
settled() {
  local want=$1 line counts state i end
  local -a base now
  mark_log t
  wait_for_log t '^state ' 2
  line=$(last_match t '^state ')
  IFS=, read -r -a base <<<"${line##*each=}"
  _deadline 10
  end=$_DEADLINE
  while :; do
    line=$(last_match t '^state ')
    IFS=, read -r -a now <<<"${line##*each=}"
    state=${line#state }
    state=${state%% *}
    counts=1
    for i in "${!base[@]}"; do
      [ "${now[i]:-0}" -gt $((base[i] + 1000)) ] || counts=0
    done
    if [ "$counts" = 1 ]; then
      [[ $state =~ ^$want{8}$ ]] || fail "every thread made 1000 calls since the command returned, but the state is $state (want $want for all): $line"
      return 0
    fi
    if _past "$end"; then
      local stuck=''
      for i in "${!base[@]}"; do
        [ "${now[i]:-0}" -gt $((base[i] + 1000)) ] && continue
        stuck+=" thread $i: ${base[i]} -> ${now[i]:-?} calls;"
      done
      fail "within 10 s some threads made no progress:$stuck states: $(cat /proc/"$pid"/task/*/stat 2>/dev/null | awk '{print $1 "=" $3}' | tr '\n' ' ')"
    fi
    nap 0.05
  done
}

for round in 1 2 3 4; do
  step "round $round: apply"
  apply_ok "$pid" patch.so fix-compute
  settled N
  expect_output t '^state N{8} ' 2
  step "round $round: revert"
  revert_ok "$pid" fix-compute
  settled O
  expect_output t '^state O{8} ' 2
done

# The threads really ran all along: the call count kept growing.
calls=$(last_match t '^state ' | sed -E 's/.*calls=([0-9]+) .*/\1/')
[ "$calls" -gt 100000 ] || fail "expected the threads to have made many calls, seen calls=$calls"
note "$calls calls to compute, no wrong result"
finish_target t

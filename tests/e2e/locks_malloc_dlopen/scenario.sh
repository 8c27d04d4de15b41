# Locks (issue 5): while threads of the target keep taking malloc's locks (malloc
# and free of 16 B to 1 MiB) and the dynamic loader's lock (dlopen/dlclose of a
# small library), we apply and revert. Each apply loads the patch with a remote
# dlopen, and the first apply into each fresh target also loads libhotpatch.so:
# the case where a thread stopped while holding one of those locks would
# deadlock the loader. Every CLI call runs under `timeout`: firing is a failure.
# After each apply and revert the target's threads are still making progress
# (mallocs and dlopens keep counting up), and no call ever failed in the target.
#
# Knobs: LOCKS_APPLIES (default 20, for make test; make stress runs 200), spread
# over fresh targets of LOCKS_PER_TARGET applies each (default 10).
applies=${LOCKS_APPLIES:-20}
per_target=${LOCKS_PER_TARGET:-10}
cli_limit=45 # seconds: the load phase's own bound (30 s) + --timeout + slack
build_target target "$CASE_DIR/target.c"
cc -shared -fPIC -O2 -Wall -Werror -o libsmall1.so "$CASE_DIR/small.c" || fail "could not build libsmall1.so"
cp libsmall1.so libsmall2.so
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"

# progress NAME: MALLOCS and DLOPENS from NAME's newest report line.
progress() {
  local line
  line=$(last_match "$1" '^compute\(7\)=[0-9]+ mallocs=')
  [[ $line =~ mallocs=([0-9]+)\ dlopens=([0-9]+)$ ]] || fail "$1: no report line yet (last: '$line')"
  MALLOCS=${BASH_REMATCH[1]}
  DLOPENS=${BASH_REMATCH[2]}
}

# expect_progress NAME: the malloc and dlopen threads are still at work: both
# counts grow beyond what they are now (within 10 s, on a busy machine).
expect_progress() {
  local m0 d0 end
  progress "$1"
  m0=$MALLOCS
  d0=$DLOPENS
  _deadline 10
  end=$_DEADLINE
  while progress "$1"; [ "$MALLOCS" -le "$m0" ] || [ "$DLOPENS" -le "$d0" ]; do
    _past "$end" && fail "$1: the target's threads stopped making progress (mallocs $m0 -> $MALLOCS, dlopens $d0 -> $DLOPENS)"
    nap 0.05
  done
}

# timed_cli WHAT ARGS...: one CLI call (under `timeout`, see hp) that must succeed;
# its wall time goes to the longest seen.
max_ms=0
timed_cli() {
  local what=$1 start ms
  shift
  start=${EPOCHREALTIME/./}
  HP_TIMEOUT=$cli_limit run_cmd hp "$@"
  ms=$(((${EPOCHREALTIME/./} - start) / 1000))
  [ "$ms" -gt "$max_ms" ] && max_ms=$ms
  if [ "$LAST_RC" -ne 0 ]; then
    _show_run hp "$@"
    [ "$LAST_RC" -eq 124 ] && fail "$what hung: still running after ${cli_limit}s (deadlock?)"
    fail "$what failed with exit $LAST_RC"
  fi
}

done_applies=0
targets=0
start_s=$SECONDS
while [ "$done_applies" -lt "$applies" ]; do
  targets=$((targets + 1))
  name=t$targets
  start_target "$name" nice -n 19 ./target "$WORK/libsmall1.so" "$WORK/libsmall2.so" # (see target.c)
  pid=$LAST_PID
  wait_for_log "$name" '^ready'
  expect_output "$name" '^compute\(7\)=21 mallocs=' 2
  expect_progress "$name"
  grep -q libhotpatch /proc/"$pid"/maps && fail "fresh target $pid already has libhotpatch.so"
  step "target $targets (pid $pid): applies $((done_applies + 1))..$((done_applies + per_target < applies ? done_applies + per_target : applies)) while its threads hammer malloc and dlopen"
  for ((k = 0; k < per_target && done_applies < applies; k++)); do
    timed_cli "apply $((done_applies + 1))" -p "$pid" apply patch.so --timeout 5000
    [ "$k" = 0 ] && { grep -q libhotpatch /proc/"$pid"/maps || fail "the first apply did not load libhotpatch.so into $pid"; }
    wait_for_log "$name" '^compute\(7\)=70 ' 5
    expect_progress "$name"
    timed_cli "revert $((done_applies + 1))" -p "$pid" revert fix-compute --timeout 5000
    wait_for_log "$name" '^compute\(7\)=21 ' 5
    expect_progress "$name"
    done_applies=$((done_applies + 1))
  done
  progress "$name"
  note "mallocs=$MALLOCS dlopens=$DLOPENS, longest CLI call so far ${max_ms} ms"
  finish_target "$name"
done
took_s=$((SECONDS - start_s))
echo "SUMMARY locks_malloc_dlopen: applies=$applies reverts=$applies targets=$targets seconds=$took_s" \
  "hung=0 failed=0 longest_cli_ms=$max_ms"

# check (issue 12, point 2): a dry run of apply. It predicts apply's outcome — exit 0
# with the functions idle, exit 6 (busy) with a thread inside the function, exit 5
# for a patch of another build or one that needs a symbol the process does not
# export, "already applied" — and changes nothing: the code
# bytes of both functions, the mappings (nothing loaded, not even the runtime) and
# the registry are the same before and after, and the target runs on untraced.
# busy_function's target: a thread sits in hold() until SIGUSR1. A private copy, so
# that --exe finds this case's processes only.
build_target svc "$E2E_DIR/busy_function/target.c"
build_patch fix_compute.so "$E2E_DIR/ops_many/patch.c"
for p in fix_hold wrong_build needs_missing; do build_patch "$p.so" "$CASE_DIR/$p.c"; done

start_target t ./svc
pid=$LAST_PID
wait_for_log t '^sleeper tid=[0-9]+ entering hold$'
tid=$(sed -nE 's/^sleeper tid=([0-9]+) entering hold$/\1/p' t.log)
wait_for_log t '^compute\(7\)=21$'
mark_log t
expect_output t '^compute\(7\)=21$' 3
compute_at=$(symbol_addr "$pid" svc compute)
hold_at=$(symbol_addr "$pid" svc hold)

# code_bytes ADDR: 16 bytes of the target's code there, in hex (dd: no python per
# snapshot, which costs seconds on a loaded machine).
code_bytes() {
  dd if="/proc/$pid/mem" iflag=skip_bytes,count_bytes skip=$(($1)) count=16 status=none | od -An -tx1 | tr -d ' \n'
}
# snapshot NAME: what check must not change.
snapshot() {
  local c h
  c=$(code_bytes "$compute_at") h=$(code_bytes "$hold_at")
  [ ${#c} = 32 ] && [ ${#h} = 32 ] || fail "cannot read the code of compute/hold in process $pid ('$c', '$h')"
  { echo "compute: $c"; echo "hold: $h"; cat "/proc/$pid/maps"; } >"$1"
}
unchanged() {
  snapshot after
  diff -u "$1" after >diff.out || fail "check changed the process: $(cat diff.out)"
  expect_alive "$pid"
}

step "check with both functions idle: would apply; nothing written, nothing loaded"
snapshot before
expect_success hp -p "$pid" check fix_compute.so
assert_match '^would apply fix-compute: 1 function idle, 2 threads, checked in [0-9]+ attempts? \(paused [0-9]+ us\); the runtime would be loaded first$' "$LAST_OUT" "check"
unchanged before
! grep -q libhotpatch "/proc/$pid/maps" || fail "check loaded the runtime"
mark_log t
expect_output t '^compute\(7\)=21$' 3
step "apply does what check said"
apply_ok "$pid" fix_compute.so fix-compute
wait_for_log t '^compute\(7\)=70$' 2

step "a thread inside hold(): check says busy (6), as apply then does, and changes nothing"
expect_success hp -p "$pid" list --json
list_before=$LAST_OUT
snapshot before
expect_fail 6 "cannot apply 'fix-hold': .*hold.*until the timeout" hp -p "$pid" check fix_hold.so --timeout 300
assert_match "(^|[^0-9])$tid([^0-9]|$)" "$LAST_ERR" "the error names thread $tid"
unchanged before
expect_success hp -p "$pid" list --json
assert_eq "$list_before" "$LAST_OUT" "the registry after check"
expect_fail 6 "cannot apply 'fix-hold': .*hold.*until the timeout" hp -p "$pid" apply fix_hold.so --timeout 300
unchanged before

step "another build: check says 5, as apply does"
expect_fail 5 'build-id mismatch' hp -p "$pid" check wrong_build.so
unchanged before
expect_fail 5 'build-id mismatch' hp -p "$pid" apply wrong_build.so

step "a patch that needs a symbol the process does not export: check says 5, as apply (its dlopen) does"
expect_fail 5 "needs 'no_such_function_anywhere', which no object in the process exports" hp -p "$pid" check needs_missing.so
unchanged before
expect_fail 5 'no_such_function_anywhere' hp -p "$pid" apply needs_missing.so

step "already applied: check says apply would do nothing"
expect_success hp -p "$pid" check fix_compute.so
assert_match '^already applied fix-compute \(since [0-9T:-]+Z\): apply would do nothing$' "$LAST_OUT" "check"
unchanged before

step "the thread leaves hold(): check and apply succeed"
kill -USR1 "$pid"
wait_for_log t '^sleeper left hold' 2
expect_success hp -p "$pid" check fix_hold.so --json
python3 - "$LAST_OUT" "$pid" <<'PY' || fail "check --json: $LAST_OUT"
import json, sys
d = json.loads(sys.argv[1])
assert d["schema"] == 1 and d["command"] == "check" and d["ok"] is True, d
p, = d["processes"]
assert p["pid"] == int(sys.argv[2]) and p["status"] == "would-apply", p
c = p["check"]
assert c["runtime_loaded"] is True and c["threads"] == 2 and [f["symbol"] for f in c["functions"]] == ["hold"], c
PY
unchanged before
apply_ok "$pid" fix_hold.so fix-hold
wait_for_log t '^hold=2$' 2

step "several processes: --exe, one busy"
start_target u ./svc
wait_for_log u '^sleeper tid=[0-9]+ entering hold$'
expect_fail 6 "process $LAST_PID: cannot apply 'fix-hold'" hp --exe "$WORK/svc" --keep-going check fix_hold.so --timeout 300
assert_match "^process $pid: already applied fix-hold " "$LAST_OUT" "the first process"

finish_target u
finish_target t

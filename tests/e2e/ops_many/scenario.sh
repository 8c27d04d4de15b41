# Several processes in one command (issue 12, point 1): three copies of a service
# patched by --exe and by -p all, one already patched (reported, not doubled); a
# fourth process runs a copy of the program at another path (same build-id): -p all
# takes it, --exe does not. A worker forked from a patched process runs the patch
# and lists it. A failure stops the run (the rest not attempted) unless --keep-going.
build_unique_target svc "$CASE_DIR/target.c"
cp svc svc-copy
build_patch patch.so "$CASE_DIR/patch.c" -DBUILD_ID="\"$(build_id_of svc)\""

for n in a b c; do
  start_target "$n" ./svc "$WORK/worker-$n"
  wait_for_log "$n" '^ready'
done
start_target d ./svc-copy "$WORK/worker-d"
wait_for_log d '^ready'
a=$(pid_of a) b=$(pid_of b) c=$(pid_of c) d=$(pid_of d)
note "svc: $a $b $c; svc-copy: $d"
sorted() { printf '%s\n' "$@" | sort -n | paste -sd' '; }

step "b is patched alone first"
apply_ok "$b" patch.so fix-compute
wait_for_log b '^pid=[0-9]+ compute\(7\)=70$' 2

step "--exe: every process of ./svc, one line each; b already had it"
expect_success hp --exe "$WORK/svc" apply patch.so
assert_eq "$(sorted "$a" "$b" "$c")" "$(pids_in "$LAST_OUT")" "processes --exe selected"
assert_eq 3 "$(grep -cE '^process [0-9]+: (applied|already applied) ' <<<"$LAST_OUT")" "result lines (one per process)"
for p in "$a" "$c"; do
  assert_match "^process $p: applied fix-compute: 1 function, [0-9]+ attempts?, paused [0-9]+ us \([0-9]+ threads?, longest thread [0-9]+\)$" "$LAST_OUT" "apply of $p"
done
assert_match "^process $b: already applied fix-compute \(since [0-9T:-]+Z\)$" "$LAST_OUT" "b"
for n in a b c; do
  mark_log "$n"
  expect_output "$n" '^pid=[0-9]+ compute\(7\)=70$' 3
done
mark_log d
expect_output d '^pid=[0-9]+ compute\(7\)=21$' 3
expect_success hp -p "$b" list
assert_eq 1 "$(grep -c '^fix-compute ' <<<"$LAST_OUT")" "b's patches (not doubled)"

ln -s svc svc-link
expect_success hp --exe svc-link list
assert_eq "$(sorted "$a" "$b" "$c")" "$(pids_in "$LAST_OUT")" "--exe through a symlink (the same file)"

step "list --json over --exe: one object, a processes array"
expect_success hp --exe "$WORK/svc" list --json
python3 - "$LAST_OUT" "$a" "$b" "$c" <<'PY' || fail "list --json: $LAST_OUT"
import json, sys
d = json.loads(sys.argv[1])
assert d["schema"] == 1 and d["ok"] is True and d["exit_code"] == 0 and d["command"] == "list", d
got = sorted(p["pid"] for p in d["processes"])
assert got == sorted(int(x) for x in sys.argv[2:]), got
for p in d["processes"]:
    assert p["ok"] and p["status"] == "listed" and [x["id"] for x in p["patches"]] == ["fix-compute"], p
PY

step "revert by --exe; again: nothing to revert is not an error"
expect_success hp --exe "$WORK/svc" revert fix-compute
for p in "$a" "$b" "$c"; do
  assert_match "^process $p: reverted fix-compute: 1 function" "$LAST_OUT" "revert of $p"
done
expect_success hp --exe "$WORK/svc" revert fix-compute
assert_eq 3 "$(grep -c '^process [0-9]*: not applied: fix-compute$' <<<"$LAST_OUT")" "second revert"
for n in a b c; do
  mark_log "$n"
  expect_output "$n" '^pid=[0-9]+ compute\(7\)=21$' 3
done

step "-p all: every process that maps the build-id, the copy at another path too"
apply_ok "$c" patch.so fix-compute
expect_success hp -p all apply patch.so --json
python3 - "$LAST_OUT" "$a" "$b" "$c" "$d" <<'PY' || fail "-p all apply --json: $LAST_OUT"
import json, sys
d = json.loads(sys.argv[1])
assert d["schema"] == 1 and d["ok"] is True and d["command"] == "apply", d
st = {p["pid"]: p["status"] for p in d["processes"]}
a, b, c, dd = (int(x) for x in sys.argv[2:])
assert st == {a: "applied", b: "applied", c: "already-applied", dd: "applied"}, st
for p in d["processes"]:
    assert p["applied"]["id"] == "fix-compute" and p["exit_code"] == 0, p
PY
for n in a b c d; do
  mark_log "$n"
  expect_output "$n" '^pid=[0-9]+ compute\(7\)=70$' 3
done

step "a worker forked from a patched process runs the patch and lists it"
kill -USR1 "$a"
wait_for_log a '^forked worker [0-9]+$' 5
w=$(sed -nE 's/^forked worker ([0-9]+)$/\1/p' a.log | tail -n 1)
echo "$w" >w.pid
ln -s "worker-a.$w" w.log
_CURSOR[w]=0
wait_for_log w "^worker ready pid=$w$" 5
expect_output w "^pid=$w compute\\(7\\)=70$" 3
expect_success hp -p "$w" list
assert_match '^fix-compute  applied ' "$LAST_OUT" "the worker's list"
expect_success hp --exe "$WORK/svc" apply patch.so
assert_eq "$(sorted "$a" "$b" "$c" "$w")" "$(pids_in "$LAST_OUT")" "--exe now (with the worker)"
assert_eq 4 "$(grep -c ': already applied fix-compute ' <<<"$LAST_OUT")" "all already applied"

step "a failure stops the run: the rest are not attempted"
revert_ok "$b" fix-compute
expect_fail 7 "not attempted: $c " hp -p "$a,$b,$c" revert fix-compute
assert_match "^process $a: reverted fix-compute: " "$LAST_OUT" "a reverted"
assert_match "^hotpatch: error: process $b: no patch 'fix-compute' is applied" "$LAST_ERR" "b's error"
mark_log c
expect_output c '^pid=[0-9]+ compute\(7\)=70$' 3

step "--keep-going: every process is tried; the exit code is the failure's"
# (a was reverted by the run before: it fails too, and first)
expect_fail 7 "process $b: no patch 'fix-compute'" hp -p "$a,$b,$c" --keep-going revert fix-compute
assert_match "^hotpatch: error: process $a: no patch 'fix-compute'" "$LAST_ERR" "a's error"
assert_match "^process $c: reverted fix-compute: " "$LAST_OUT" "c reverted"
assert_no_match "not attempted" "$LAST_ERR" "nothing skipped"
mark_log c
expect_output c '^pid=[0-9]+ compute\(7\)=21$' 3
run_cmd hp -p "$a,$b" revert fix-compute --json
assert_eq 7 "$LAST_RC" "exit code of a failed run with --json"
python3 - "$LAST_OUT" "$a" "$b" <<'PY' || fail "revert --json failure: $LAST_OUT"
import json, sys
d = json.loads(sys.argv[1])
a, b = int(sys.argv[2]), int(sys.argv[3])
assert d["ok"] is False and d["exit_code"] == 7 and "fix-compute" in d["error"], d
st = {p["pid"]: (p["status"], p["ok"], p["exit_code"]) for p in d["processes"]}
assert st == {a: ("failed", False, 7), b: ("not-attempted", False, 0)}, st
PY

step "SIGTERM (or Ctrl-C) during a run over several processes: the current one is finished, no next one is started"
# The CLI stops itself (SIGSTOP) once the first process is released; SIGTERM then
# waits, deferred, until that process is done. (SIGTERM: a background job of a
# script ignores SIGINT.)
HOTPATCH_TEST_STOP_AT=apply:released "$HOTPATCH" -p "$a,$b,$c" apply patch.so --json >int.out 2>int.err &
cli=$!
for _ in $(seq 1500); do grep -q 'stopped at step apply:released' int.err && break; nap 0.02; done
grep -q 'stopped at step apply:released' int.err || fail "the CLI did not stop at apply:released: $(cat int.err)"
expect_state "$cli" T 10
kill -TERM "$cli"
kill -CONT "$cli"
wait "$cli" && rc=0 || rc=$?
assert_eq 143 "$rc" "exit status (killed by the deferred SIGTERM once done)"
python3 - "$(cat int.out)" "$a" "$b" "$c" <<'PY' || fail "the JSON of the interrupted run: $(cat int.out)"
import json, sys
d = json.loads(sys.argv[1])
a, b, c = (int(x) for x in sys.argv[2:])
assert d["ok"] is False and d["exit_code"] == 0 and d["interrupted"] == "SIGTERM", d
assert {p["pid"]: p["status"] for p in d["processes"]} == {a: "applied", b: "not-attempted", c: "not-attempted"}, d
PY
python3 "$E2E_DIR/ops_json/validate.py" "$E2E_DIR/../../docs/hotpatch.schema.json" int.out >validate.out || fail "$(cat validate.out)"
assert_match "^hotpatch: error: interrupted \(Terminated\); not attempted: $b, $c$" "$(cat int.err)" "stderr"
expect_success hp -p "$b,$c" list
assert_eq 2 "$(grep -c ': no patches applied$' <<<"$LAST_OUT")" "b and c untouched"
revert_ok "$a" fix-compute

step "-v: the steps with timings on stderr, stdout as without; -q: only errors"
expect_success hp -v -p "$c" apply patch.so
assert_match '^applied fix-compute: ' "$LAST_OUT" "stdout with -v"
assert_eq 1 "$(wc -l <<<"$LAST_OUT")" "stdout lines with -v"
steps=$(grep -oE "^hotpatch: \[ *[0-9]+\.[0-9]{3} ms\] process $c: (planned|loaded|committed)" last.err | awk '{print $NF}' | paste -sd' ')
assert_eq "planned loaded committed" "$steps" "the steps -v prints, in order"
expect_success hp -q -p "$c" revert fix-compute
assert_eq "" "$LAST_OUT" "stdout with -q"
assert_eq "" "$LAST_ERR" "stderr with -q"
expect_fail 7 "no patch 'fix-compute' is applied" hp -q -p "$c" revert fix-compute
assert_eq "" "$LAST_OUT" "stdout of a failure with -q"

step "bad selections"
expect_fail 2 "either -p or --exe" hp -p "$a" --exe "$WORK/svc" list
expect_fail 2 "'x' is not a process id" hp -p "$a,x" list
expect_fail 2 "given twice" hp -p "$a,$a" list
expect_fail 2 "needs one process" hp -p "$a,$b" socket
build_patch nobid.so "$CASE_DIR/patch.c"
expect_fail 2 "needs a patch that names its build-id" hp -p all apply nobid.so
expect_fail 3 "no process runs" hp --exe /bin/true list

for n in a b c d w; do finish_target "$n"; done

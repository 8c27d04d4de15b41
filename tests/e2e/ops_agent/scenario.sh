# Patches that survive restarts (issue 12, point 3): a patch installed for the
# agent is applied to the target as it starts, before main runs (the first call
# already returns the patched value), and again after a restart. A program whose
# build-id matches no installed patch is left alone. remove-patch stops it.
build_unique_target svc "$CASE_DIR/target.c"
build_unique_target other "$CASE_DIR/target.c"
build_patch patch.so "$E2E_DIR/ops_many/patch.c" -DBUILD_ID="\"$(build_id_of svc)\""
build_patch nobid.so "$E2E_DIR/ops_many/patch.c"
store=$WORK/patches

step "install-patch, patches"
expect_success hp install-patch --patch-dir "$store" patch.so
assert_eq "installed fix-compute: $store/fix-compute.so
note: the agent applies it to the processes that start from now on; to those running: hotpatch -p all apply $store/fix-compute.so" "$LAST_OUT" "install-patch"
expect_success hp patches --patch-dir "$store"
assert_match "^fix-compute  build-id $(build_id_of svc)  $store/fix-compute.so$" "$LAST_OUT" "patches"
expect_fail 4 'names no build-id' hp install-patch --patch-dir "$store" nobid.so
expect_fail 7 "no patch 'nope' is installed" hp remove-patch --patch-dir "$store" nope

step "no process-events connector (a network namespace of its own): a clear error, exit 3"
expect_fail 3 'cannot subscribe to process events .*initial network namespace' \
  unshare -n "$HOTPATCH" agent --patch-dir "$store" --run-dir "$WORK/run-netns" --log stderr

step "the agent starts"
start_target agent "$HOTPATCH" agent --patch-dir "$store" --run-dir "$WORK/run" --log stderr
wait_for_log agent '^hotpatch-agent: ready: watching process starts; 1 patch in ' 10
assert_eq "$(pid_of agent)" "$(cat "$WORK/run/agent.pid")" "agent.pid"
expect_fail 7 'another agent .* runs with' hp agent --patch-dir "$store" --run-dir "$WORK/run" --log stderr

# start_and_check NAME: the target starts patched; the agent says when.
start_and_check() {
  local name=$1 pid
  start_target "$name" ./svc
  pid=$LAST_PID
  wait_for_log "$name" "^first compute\\(7\\)=[0-9]+ pid=$pid$" 10
  assert_eq "first compute(7)=70 pid=$pid" "$(grep '^first' "$name.log")" "the first call in main (patched before main ran)"
  wait_for_log agent "^hotpatch-agent: process $pid \\($WORK/svc\\): applied fix-compute in [0-9.]+ ms, [0-9.]+ ms after exec, before the program started$" 10
  wait_for_log agent "^hotpatch-agent: process $pid: started, [0-9.]+ ms after exec$" 5
  local ms
  ms=$(sed -nE "s/^hotpatch-agent: process $pid \\(.*\\): applied fix-compute in [0-9.]+ ms, ([0-9.]+) ms after exec, .*/\\1/p" agent.log)
  note "process $pid patched $ms ms after its exec"
  awk -v m="$ms" 'BEGIN { exit !(m < 5000) }' || fail "patched $ms ms after exec (more than 5 s)"
  expect_output "$name" '^compute\(7\)=70$' 3
  expect_success hp -p "$pid" list
  assert_match "^fix-compute  applied [0-9T:-]+Z  $store/fix-compute.so$" "$LAST_OUT" "list in the started process"
  expect_alive "$pid"
}

step "a target starts: patched before main"
start_and_check t1

step "restarted: patched again"
stop_target t1
start_and_check t2

step "apply from the file it was installed from: the process started with the store's copy has it already"
expect_success hp -p "$(pid_of t2)" apply patch.so
assert_match '^already applied fix-compute ' "$LAST_OUT" "apply of the original file over the installed copy"
cp patch.so other-copy.so
printf 'x' >>other-copy.so
expect_fail 7 "already applied from $store/fix-compute.so" hp -p "$(pid_of t2)" apply other-copy.so

step "a program no installed patch fits is left alone"
start_target o ./other
wait_for_log o '^first compute\(7\)=21 ' 10
expect_output o '^compute\(7\)=21$' 3
assert_no_match "process $(pid_of o) " "$(cat agent.log)" "the agent's log about the other program"
! grep -q libhotpatch "/proc/$(pid_of o)/maps" || fail "the other program has the runtime loaded"

step "a library patch: a program that maps the library is patched before main"
build_unique_target libsvc.so "$CASE_DIR/lib.c" -shared -fPIC
build_target libuser "$CASE_DIR/libuser.c" -L. -lsvc -Wl,-rpath,"$WORK"
build_patch libpatch.so "$CASE_DIR/libpatch.c" -DBUILD_ID="\"$(build_id_of libsvc.so)\""
expect_success hp install-patch --patch-dir "$store" libpatch.so
wait_for_log agent '^hotpatch-agent: patches: fix-compute, fix-scale \(libsvc.so\)$' 5
start_target l ./libuser
wait_for_log l '^first scale\(7\)=[0-9]+ ' 10
assert_match '^first scale\(7\)=140 ' "$(grep '^first' l.log)" "the first call of the library function in main"
wait_for_log agent "^hotpatch-agent: process $(pid_of l) \($WORK/libuser\): applied fix-scale in .* before the program started$" 5
expect_output l '^scale\(7\)=140$' 3
# -p all finds the processes that map the library by its build-id (this one only).
expect_success hp -p all check libpatch.so
assert_eq "process $(pid_of l): already applied fix-scale" "$(cut -d'(' -f1 <<<"$LAST_OUT" | sed 's/ $//')" "-p all check of the library patch"

step "status lists the patched processes"
expect_success hp status
assert_match "^ *$(pid_of t2)  $WORK/svc  fix-compute$" "$LAST_OUT" "status"
assert_match "^ *$(pid_of l)  $WORK/libuser  fix-scale$" "$LAST_OUT" "status"
expect_success hp status --json
python3 - "$LAST_OUT" "$(pid_of t2)" "$(pid_of l)" <<'PY' || fail "status --json: $LAST_OUT"
import json, sys
d = json.loads(sys.argv[1])
got = {p["pid"]: [x["id"] for x in p["patches"]] for p in d["processes"]}
assert got[int(sys.argv[2])] == ["fix-compute"] and got[int(sys.argv[3])] == ["fix-scale"], got
PY

step "remove-patch: the next start is not patched"
expect_success hp remove-patch --patch-dir "$store" fix-compute
wait_for_log agent '^hotpatch-agent: patches: fix-scale \(libsvc.so\)$' 5
stop_target t2
start_target t3 ./svc
wait_for_log t3 '^first compute\(7\)=21 ' 10
expect_output t3 '^compute\(7\)=21$' 3

step "an agent killed while it holds a start: the next one lets the program go"
build_target hold.so "$CASE_DIR/hold.c" -shared -fPIC
expect_success hp install-patch --patch-dir "$store" patch.so
wait_for_log agent '^hotpatch-agent: patches: fix-compute, fix-scale' 5
: >hold-file
HOLD_FILE=$WORK/hold-file LD_PRELOAD=$WORK/hold.so start_target h ./svc
h=$LAST_PID
for _ in $(seq 200); do [ -e "$WORK/run/parked/$h" ] && break; nap 0.02; done
[ -e "$WORK/run/parked/$h" ] || fail "the agent did not hold process $h (no $WORK/run/parked/$h)"
kill -KILL "$(pid_of agent)"
wait "$(pid_of agent)" 2>/dev/null || true
rm hold-file
nap 0.5
[ ! -s h.log ] || fail "process $h ran its program while held: $(cat h.log)"
_proc_state "$h"
assert_eq R "$_STATE" "the held process spins at its entry point"
start_target agent2 "$HOTPATCH" agent --patch-dir "$store" --run-dir "$WORK/run" --log stderr
wait_for_log agent2 "^hotpatch-agent: process $h: let it start: an agent that died had held it at its entry point$" 10
wait_for_log h "^first compute\\(7\\)=21 pid=$h$" 5
expect_output h '^compute\(7\)=21$' 3
expect_alive "$h"
[ ! -e "$WORK/run/parked/$h" ] || fail "the record of the held start is left behind"
finish_target h

step "a start that stays in ld.so past --hold-timeout: entry put back, patched while it runs"
kill -TERM "$(pid_of agent2)"
wait "$(pid_of agent2)" || fail "the agent exited with $? on SIGTERM"
start_target agent3 "$HOTPATCH" agent --patch-dir "$store" --run-dir "$WORK/run" --log stderr --hold-timeout 300
wait_for_log agent3 '^hotpatch-agent: ready: watching' 10
: >hold-file
HOLD_FILE=$WORK/hold-file LD_PRELOAD=$WORK/hold.so start_target s ./svc
s=$LAST_PID
wait_for_log agent3 "^hotpatch-agent: process $s \\(.*\\): applied fix-compute in .* while it ran \\(it did not reach its entry point in time\\)$" 10
[ ! -e "$WORK/run/parked/$s" ] || fail "the record of the given-up hold is left behind"
rm hold-file
wait_for_log s "^first compute\\(7\\)=70 pid=$s$" 5
expect_output s '^compute\(7\)=70$' 3
expect_alive "$s"
finish_target s

step "SIGTERM stops the agent"
kill -TERM "$(pid_of agent3)"
wait_for_log agent3 '^hotpatch-agent: stopping$' 5
for _ in $(seq 100); do kill -0 "$(pid_of agent3)" 2>/dev/null || break; nap 0.05; done
! kill -0 "$(pid_of agent3)" 2>/dev/null || fail "the agent still runs after SIGTERM"
[ ! -e "$WORK/run/agent.pid" ] || fail "agent.pid is left behind"
for n in t3 o l; do finish_target "$n"; done

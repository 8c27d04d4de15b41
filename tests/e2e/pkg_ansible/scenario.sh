# Fleet rollout through Ansible (contrib/ansible): the real ansible-playbook runs the
# hotpatch module against a localhost inventory (connection local) with three
# running copies of a program. Check mode predicts and changes nothing (the code
# bytes are compared), apply patches all three (one was patched beforehand:
# reported, not doubled), a re-run is ok-not-changed, revert takes it back, and
# selection by pid and by build-id work too. Each step's per-process results come
# from hotpatch --json. (Four ansible-playbook runs: each costs seconds of start-up.)
root=$(cd "$E2E_DIR/../.." && pwd)
if ! command -v ansible-playbook >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    bash "$root/scripts/install-deps.sh" ansible >deps.log 2>&1 || { cat deps.log; fail "could not install ansible-core"; }
  else
    fail "ansible-playbook is missing: run scripts/install-deps.sh ansible as root (Debian's ansible-core)"
  fi
fi
grep -qw check <<<"$("$HOTPATCH" --help)" || fail "this hotpatch has no check subcommand, which the module's check mode runs"

nonce="pkg-ansible-$$-$RANDOM$RANDOM"
build_target target "$CASE_DIR/target.c" -fPIE -pie "-DNONCE=\"$nonce\""
bid=$(readelf -n target | sed -n 's/.*Build ID: *//p')
[ -n "$bid" ] || fail "the target has no build-id"
build_patch patch.so "$CASE_DIR/patch.c" "-DBUILD_ID=\"$bid\""

pids=()
for i in 1 2 3; do
  start_target "t$i" ./target
  pids+=("$LAST_PID")
done
for i in 1 2 3; do wait_for_log "t$i" '^compute\(7\)=21$'; done
# (each process has its own load address: PIE and ASLR)
code_of() { local pid; for pid in "${pids[@]}"; do read_mem "$pid" "$(symbol_addr "$pid" target compute)" 16; done; }
all_print() { for i in 1 2 3; do wait_for_log "t$i" "^compute\\(7\\)=$1\$" 2; done; }

printf 'localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n' >inventory
export ANSIBLE_LIBRARY=$root/contrib/ansible/library ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP=$WORK/ansible-tmp \
  ANSIBLE_REMOTE_TEMP=$WORK/ansible-tmp ANSIBLE_HOME=$WORK/ansible-home ANSIBLE_RETRY_FILES_ENABLED=0
py=/usr/bin/python3

# play NAME STEPS_JSON [ansible-playbook options]: runs the steps (a JSON list of the
# module's arguments); NAME.log is ansible-playbook's output, NAME.result the list
# of the steps' results.
play() {
  local name=$1 steps=$2
  shift 2
  local vars
  vars=$(printf '{"steps": %s, "hotpatch_command": "%s", "hotpatch_env": {"HOTPATCH_RUNTIME": "%s"}, "result_file": "%s"}' \
           "$steps" "$HOTPATCH" "$HOTPATCH_RUNTIME" "$WORK/$name.result")
  timeout 180 ansible-playbook -i inventory "$CASE_DIR/play.yml" -e "$vars" "$@" >"$name.log" 2>&1 ||
    { cat "$name.log"; fail "$name: ansible-playbook failed"; }
  [ -s "$name.result" ] || { cat "$name.log"; fail "$name: no results"; }
  $py - "$name.result" <<'PY' | sed 's/^/   /'
import json, sys
for i, r in enumerate(json.load(open(sys.argv[1]))):
    print("step %d: changed=%s failed=%s %s %s" % (i, r.get("changed"), r.get("failed", False), r.get("summary"), r.get("msg", "")))
PY
}
# expect NAME STEP CHANGED FAILED STATUSES: step STEP (from 0) of run NAME.
expect() {
  local got
  got=$($py - "$1.result" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))[int(sys.argv[2])]
print("%s %s %s" % (str(r.get("changed", False)).lower(), str(r.get("failed", False)).lower(),
                    " ".join(sorted(p["status"] for p in r.get("processes", [])))))
PY
)
  assert_eq "$3 $4 $5" "$got" "$1 step $2: changed, failed, the processes' statuses"
}
message() { $py -c 'import json,sys; print(json.load(open(sys.argv[1]))[int(sys.argv[2])].get("msg", ""))' "$1.result" "$2"; }

by_exe=$(printf '{"patch": "%s", "exe": "%s"}' "$WORK/patch.so" "$WORK/target")
checked=$(printf '{"patch": "%s", "exe": "%s", "state": "checked"}' "$WORK/patch.so" "$WORK/target")
pid_list=$(IFS=,; echo "${pids[*]}")
revert_by_pid=$(printf '{"id": "fix-fleet", "pid": [%s], "state": "reverted"}' "$pid_list")

step "check mode: apply predicts the change, state=checked only checks; nothing changes"
before=$(code_of)
play check "[$by_exe, $checked]" --check
expect check 0 true false "would-apply would-apply would-apply"
expect check 1 false false "would-apply would-apply would-apply"
assert_eq "$before" "$(code_of)" "the code of compute in the three processes after check mode"
for i in 1 2 3; do expect_output "t$i" '^compute\(7\)=21$' 3; done

step "apply to all (one had it already: reported, not doubled); the re-run is ok, not changed"
apply_ok "${pids[1]}" patch.so fix-fleet
play apply "[$by_exe, $by_exe]"
expect apply 0 true false "already-applied applied applied"
expect apply 1 false false "already-applied already-applied already-applied"
all_print 70
for pid in "${pids[@]}"; do
  assert_eq 1 "$(hp -p "$pid" list --json | grep -o '"id":"fix-fleet"' | wc -l)" "fix-fleet entries in process $pid"
done

step "check mode on patched processes: no change to make; revert would change them"
play check-applied "[$by_exe, $revert_by_pid]" --check
expect check-applied 0 false false "already-applied already-applied already-applied"
expect check-applied 1 true false "would-revert would-revert would-revert"
for i in 1 2 3; do expect_output "t$i" '^compute\(7\)=70$' 3; done

step "revert by pid, again (no change), apply and revert by build-id, a wrong build-id, a missing process, an idle program"
gone=4194303
while [ -e "/proc/$gone" ]; do gone=$((gone - 1)); done
cp target idle   # a program no process runs
play rest "[$revert_by_pid, $revert_by_pid,
  $(printf '{"patch": "%s", "build_id": "%s"}' "$WORK/patch.so" "$bid"),
  $(printf '{"patch": "%s", "build_id": "%s", "state": "reverted"}' "$WORK/patch.so" "$bid"),
  $(printf '{"patch": "%s", "build_id": "0123456789abcdef"}' "$WORK/patch.so"),
  $(printf '{"patch": "%s", "pid": [%s, %s]}' "$WORK/patch.so" "${pids[0]}" "$gone"),
  $(printf '{"patch": "%s", "exe": "%s"}' "$WORK/patch.so" "$WORK/idle")]"
expect rest 0 true false "reverted reverted reverted"
expect rest 1 false false "not-applied not-applied not-applied"
expect rest 2 true false "applied applied applied"
expect rest 3 true false "reverted reverted reverted"
expect rest 4 false true ""
assert_match "is for build-id $bid, not 0123456789abcdef" "$(message rest 4)" "a build-id the patch is not for"
# a failing process fails the task, names it, and the other one is patched
expect rest 5 true true "applied failed"
assert_match "process $gone" "$(message rest 5)" "the failure names the process"
# a program that runs nowhere on the host: ok, not changed, said in a warning
expect rest 6 false false ""
assert_match "^no process runs $WORK/idle" "$(message rest 6)" "the message for a program no process runs"
grep -q '^\[WARNING\]: no process runs' rest.log || { cat rest.log; fail "ansible-playbook showed no warning for a program no process runs"; }
for i in 2 3; do wait_for_log "t$i" '^compute\(7\)=21$' 2; done
wait_for_log t1 '^compute\(7\)=70$' 2
hp -p "${pids[0]}" revert fix-fleet >/dev/null
for i in 1 2 3; do finish_target "t$i" '^BAD'; done

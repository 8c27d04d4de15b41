# JSON (issue 12, point 5): every command with --json prints one object that
# matches docs/hotpatch.schema.json (validate.py: a small JSON Schema checker that
# refuses keywords it does not know), "schema": 1 included; errors too.
SCHEMA=$E2E_DIR/../../docs/hotpatch.schema.json
[ -f "$SCHEMA" ] || fail "no schema at $SCHEMA"
mkdir outputs
# json_ok NAME EXPECTED_RC cmd...: runs cmd, checks its exit code, keeps its stdout
# as outputs/NAME.json; all are checked against the schema at the end (one python).
json_ok() {
  local name=$1 rc=$2
  shift 2
  run_cmd "$@"
  if [ "$LAST_RC" != "$rc" ]; then
    _show_run "$@"
    fail "$name: expected exit $rc, got $LAST_RC"
  fi
  cp last.out "outputs/$name.json"
}

# busy_function's target (a thread in hold() until SIGUSR1), a private copy for --exe.
build_target svc "$E2E_DIR/busy_function/target.c"
build_patch fix.so "$E2E_DIR/ops_many/patch.c" -DBUILD_ID="\"$(build_id_of svc)\""
build_patch fix_hold.so "$E2E_DIR/ops_check/fix_hold.c"
build_patch fix2.so "$CASE_DIR/fix2.c"
printf 'not a patch\n' >text.so
start_target t ./svc
pid=$LAST_PID
wait_for_log t '^sleeper tid=[0-9]+ entering hold$'
compute_at=$(symbol_addr "$pid" svc compute)

step "the patch commands"
json_ok info 0 hp info fix.so --json
json_ok check 0 hp -p "$pid" check fix.so --json
json_ok apply 0 hp -p "$pid" apply fix.so --json
json_ok apply-again 0 hp --json -p "$pid" apply fix.so
json_ok check-applied 0 hp -p "$pid" check fix.so --json
json_ok list 0 hp -p "$pid" list --json
json_ok info-hooks 0 hp info fix2.so --json
json_ok apply-replace 0 hp -p "$pid" apply --replace fix-compute fix2.so --json
json_ok list-replaced 0 hp -p "$pid" list --json
json_ok revert-replace 0 hp -p "$pid" revert fix-compute-2 --json
json_ok apply-after 0 hp -p "$pid" apply fix.so --json
json_ok list-exe 0 hp --exe "$WORK/svc" list --json
json_ok status 0 hp status --json
json_ok revert 0 hp -p "$pid" revert fix-compute --json
json_ok revert-exe-not-applied 0 hp --exe "$WORK/svc" revert fix-compute --json
json_ok revert-all-nothing 0 hp -p "$pid" revert --all --json
json_ok revert-failed 7 hp -p "$pid" revert fix-compute --json
json_ok list-empty 0 hp -p "$pid" list --json

step "errors"
json_ok error-bad-patch 4 hp -p "$pid" apply text.so --json
json_ok error-usage 2 hp -p "x" list --json
json_ok error-no-process 3 hp --exe /bin/true list --json
json_ok error-busy-check 6 hp -p "$pid" check fix_hold.so --json --timeout 200
json_ok error-busy-apply-exe 6 hp --exe "$WORK/svc" apply fix_hold.so --json --timeout 200

step "the patch store"
json_ok install-patch 0 hp install-patch --patch-dir "$WORK/store" fix.so --json
json_ok patches 0 hp patches --patch-dir "$WORK/store" --json
json_ok remove-patch 0 hp remove-patch --patch-dir "$WORK/store" fix-compute --json
json_ok patches-empty 0 hp patches --patch-dir "$WORK/store" --json

step "the agent"
"$HOTPATCH" agent --patch-dir "$WORK/store" --run-dir "$WORK/run" --log stderr --json >agent.out 2>agent.err &
agent=$!
for _ in $(seq 200); do grep -q 'ready: watching' agent.err && break; nap 0.05; done
kill -TERM "$agent"
wait "$agent" || fail "the agent exited with $?: $(cat agent.err)"
cp agent.out outputs/agent.json

step "cooperative commands and helpers"
json_ok inject 0 hp -p "$pid" inject --json
json_ok socket 0 hp -p "$pid" socket --json
json_ok var-list 0 hp -p "$pid" --json var list
json_ok var-refused 8 hp -p "$pid" --json var get no_such_variable
json_ok write-code-probe 0 hp -p "$pid" write-code --probe "$compute_at-$(printf '0x%x' $((compute_at + 16)))" --json
json_ok preserved-registers 0 hp -p "$pid" preserved-registers --old "$compute_at" --new "$compute_at" --json

step "create"
cp -r "$E2E_DIR/create_basic/project" src
(cd src && make -s) || fail "building the project failed"
json_ok create 0 hp create --src src --diff "$E2E_DIR/create_basic/fix.diff" --binary app -o made.so --json

step "every output against the schema"
python3 "$CASE_DIR/validate.py" "$SCHEMA" outputs/*.json >validate.out 2>&1 || fail "$(cat validate.out)"
note "$(cat validate.out)"
# The optional parts the schema describes were there to be checked.
python3 - <<'PY' || fail "the outputs lack what they were run for"
import json
out = lambda name: json.load(open(f"outputs/{name}.json"))
info = out("info-hooks")
assert sorted(info["callbacks"]) == ["post-apply", "post-revert", "pre-apply", "pre-revert"], info
assert [s["id"] for s in info["shadow_ids"]] == ["0x4f50534a534f4e"], info
p, = out("apply-replace")["processes"]
assert p["status"] == "applied" and p["replaced"] == "fix-compute" and p["applied"]["id"] == "fix-compute-2", p
p, = out("list-replaced")["processes"]
assert [x["id"] for x in p["patches"]] == ["fix-compute-2"] and "shadow" in p, p
PY
finish_target t

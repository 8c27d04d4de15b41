# `-p all` for list, revert and check (issue 12, point 1): list and revert take every
# process with the runtime loaded, check every process that maps the patch's build.
# "All" on a shared machine is everybody's processes, so the case runs in a PID
# namespace with a /proc of its own: "all" is this case's processes and no one else's.
if [ -z "${OPS_ALL_NAMESPACE:-}" ]; then
  unshare --pid --fork --mount-proc true 2>ns.err ||
    fail "cannot make a PID namespace with its own /proc (needs CAP_SYS_ADMIN): $(cat ns.err)"
  OPS_ALL_NAMESPACE=1 unshare --pid --fork --mount-proc bash -c 'set -euo pipefail
    cd "$WORK"
    rm "$WORK/.nap"  # (lib.sh makes its own)
    source "$E2E_DIR/lib.sh"
    trap '\''echo "FAIL: scenario.sh line $LINENO: \"$BASH_COMMAND\" failed" >&2; : >"$WORK/failed"'\'' ERR
    source "$CASE_DIR/scenario.sh"'
  return 0
fi

[ "$$" = 1 ] || fail "not the first process of a PID namespace (pid $$)"
build_unique_target svc "$E2E_DIR/ops_many/target.c"
build_patch patch.so "$E2E_DIR/ops_many/patch.c" -DBUILD_ID="\"$(build_id_of svc)\""
for n in a b c; do
  start_target "$n" ./svc "$WORK/worker-$n"
  wait_for_log "$n" '^ready'
done
a=$(pid_of a) b=$(pid_of b) c=$(pid_of c)
note "svc: $a $b $c (pids in the namespace)"

step "no process has the runtime: list -p all says so (3)"
expect_fail 3 'no process has the hotpatch runtime loaded' hp -p all list

step "a and b patched: list -p all takes them, not c (no runtime)"
apply_ok "$a" patch.so fix-compute
apply_ok "$b" patch.so fix-compute
expect_success hp -p all list
assert_eq "$a $b" "$(pids_in "$LAST_OUT")" "processes list -p all selected"
assert_eq 2 "$(grep -cE '^process [0-9]+: fix-compute  applied ' <<<"$LAST_OUT")" "patches listed"

step "check -p all: every process of the build, c too"
expect_success hp -p all check patch.so --json
python3 - "$LAST_OUT" "$a" "$b" "$c" <<'PY' || fail "check -p all --json: $LAST_OUT"
import json, sys
d = json.loads(sys.argv[1])
a, b, c = (int(x) for x in sys.argv[2:])
st = {p["pid"]: p["status"] for p in d["processes"]}
assert d["ok"] is True and st == {a: "already-applied", b: "already-applied", c: "would-apply"}, st
PY

step "revert -p all: a and b go back; again: not applied, exit 0"
expect_success hp -p all revert fix-compute
assert_eq "$a $b" "$(pids_in "$LAST_OUT")" "processes revert -p all selected"
assert_eq 2 "$(grep -cE '^process [0-9]+: reverted fix-compute: 1 function' <<<"$LAST_OUT")" "reverted"
for n in a b c; do
  mark_log "$n"
  expect_output "$n" '^pid=[0-9]+ compute\(7\)=21$' 3
done
expect_success hp -p all revert fix-compute
assert_eq 2 "$(grep -cE '^process [0-9]+: not applied: fix-compute$' <<<"$LAST_OUT")" "second revert"
expect_success hp -p all list
assert_eq 2 "$(grep -cE '^process [0-9]+: no patches applied$' <<<"$LAST_OUT")" "list after the revert"

step "apply -p all, revert --all -p all"
expect_success hp -p all apply patch.so
assert_eq "$a $b $c" "$(pids_in "$LAST_OUT")" "processes apply -p all selected"
for n in a b c; do
  mark_log "$n"
  expect_output "$n" '^pid=[0-9]+ compute\(7\)=70$' 3
done
expect_success hp -p all revert --all
assert_eq 3 "$(grep -cE '^process [0-9]+: reverted fix-compute: ' <<<"$LAST_OUT")" "revert --all"
for n in a b c; do
  mark_log "$n"
  expect_output "$n" '^pid=[0-9]+ compute\(7\)=21$' 3
done

for n in a b c; do finish_target "$n"; done

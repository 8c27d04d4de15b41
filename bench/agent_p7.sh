#!/usr/bin/env bash
# P7 (issue 12): the agent keeps a patch across restarts. How long from a program's
# execve to its patch being in place, and whether any of the program's own code ran
# unpatched meanwhile. Run by bench/run.sh; prints the P7 line.
#
#   bash bench/agent_p7.sh BUILD_DIR WORK_DIR [STARTS]
#
# A target whose first action in main() is a call of the patched function prints
# that call's result; the agent (private patch dir and run dir) logs, per start, the
# time from the exec event's timestamp to the patch in place.
set -euo pipefail
BUILD=$1 WORK=$2 STARTS=${3:-${P7_STARTS:-20}}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOTPATCH=$BUILD/hotpatch
dir=$WORK/p7
mkdir -p "$dir"
# A build-id of our own: the agent sees every process on the machine.
cc -O2 -g -o "$dir/target" "$REPO/tests/e2e/ops_agent/target.c" -DNONCE="\"p7-$$-$RANDOM\""
build_id=$(readelf -n "$dir/target" | awk '/Build ID:/ {print $3; exit}')
cc -shared -fPIC -O2 -I"$REPO/include" -o "$dir/fix.so" "$REPO/tests/e2e/ops_many/patch.c" -DBUILD_ID="\"$build_id\""
"$HOTPATCH" install-patch --patch-dir "$dir/patches" "$dir/fix.so" >/dev/null

"$HOTPATCH" agent --patch-dir "$dir/patches" --run-dir "$dir/run" --log stderr 2>"$dir/agent.log" &
agent=$!
trap 'kill -TERM $agent 2>/dev/null; wait $agent 2>/dev/null || true' EXIT
for _ in $(seq 200); do grep -q 'ready: watching' "$dir/agent.log" && break; sleep 0.05; done
grep -q 'ready: watching' "$dir/agent.log" || { cat "$dir/agent.log" >&2; echo "P7: the agent did not start" >&2; exit 1; }

unpatched=0
for i in $(seq "$STARTS"); do
  "$dir/target" >"$dir/t.out" 2>&1 &
  t=$!
  for _ in $(seq 400); do grep -q '^first' "$dir/t.out" 2>/dev/null && break; sleep 0.01; done
  grep -q '^first compute(7)=70 ' "$dir/t.out" || unpatched=$((unpatched + 1))
  kill -KILL "$t"
  wait "$t" 2>/dev/null || true
done
sleep 0.2
times=$(sed -nE 's/.*: applied fix-compute in [0-9.]+ ms, ([0-9.]+) ms after exec, .*/\1/p' "$dir/agent.log" | sort -n)
before=$(grep -c 'after exec, before the program started$' "$dir/agent.log" || true)
n=$(wc -l <<<"$times")
[ -n "$times" ] || { cat "$dir/agent.log" >&2; echo "P7: the agent patched nothing" >&2; exit 1; }
median=$(awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }' <<<"$times")
max=$(tail -n 1 <<<"$times")
echo "P7 agent starts=$STARTS exec_to_patched_ms_median=$median exec_to_patched_ms_max=$max before_entry=$before/$n unpatched_first_calls=$unpatched"

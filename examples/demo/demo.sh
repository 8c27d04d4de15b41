#!/usr/bin/env bash
# The README's `make demo`: fix a bug in a running server without restarting it,
# while a load client keeps sending requests, then take the fix back.
#
#   bash examples/demo/demo.sh [BUILD_DIR]     (default: build)
#
# Exits non-zero if the fix was not seen, or if any client request failed.
set -euo pipefail

DEMO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$DEMO_DIR/../.." && pwd)
BUILD=$(cd "${1:-$REPO/build}" 2>/dev/null && pwd) || { echo "demo: no build directory ${1:-build} (run: make build)" >&2; exit 2; }
HOTPATCH=$BUILD/hotpatch
[ -x "$HOTPATCH" ] || { echo "demo: $HOTPATCH not found (run: make build)" >&2; exit 2; }
export HOTPATCH_RUNTIME=${HOTPATCH_RUNTIME:-$BUILD/libhotpatch.so}

if [ -t 1 ]; then bold=$'\e[1m' green=$'\e[32m' red=$'\e[31m' off=$'\e[0m'; else bold='' green='' red='' off=''; fi
heading() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$off"; }
say() { printf '   %s\n' "$*"; }
show() { sed 's/^/   | /'; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hotpatch-demo.XXXXXX")
server_pid='' load_pid=''
cleanup() {
  for p in $load_pid $server_pid; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

problems=()
problem() { problems+=("$*"); printf '   %s!! %s%s\n' "$red" "$*" "$off"; }

# ask "price 3": one request over a fresh TCP connection (bash's /dev/tcp).
ask() {
  timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && printf "%s\n" "$1" >&3 && IFS= read -r reply <&3 && printf "%s\n" "$reply"' \
    "$port" "$1" || echo "(no reply)"
}

heading "1. Build the server, its fix and a load client"
cc -O2 -g -pthread -o "$WORK/server" "$DEMO_DIR/server.c"
cc -O2 -g -pthread -o "$WORK/load" "$DEMO_DIR/load.c"
cc -shared -fPIC -O2 -g -I"$REPO/include" -o "$WORK/fix.so" "$DEMO_DIR/fix.c"
say "server: $DEMO_DIR/server.c   fix: $DEMO_DIR/fix.c   load: $DEMO_DIR/load.c"

heading "2. Start the server"
"$WORK/server" >"$WORK/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do grep -q '^listening on' "$WORK/server.log" && break; sleep 0.05; done
grep -q '^listening on' "$WORK/server.log" || { cat "$WORK/server.log" >&2; echo "demo: the server did not start" >&2; exit 1; }
port=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+) .*/\1/p' "$WORK/server.log")
say "server pid $server_pid, listening on 127.0.0.1:$port"

heading "3. The bug: 3 items at 10 each should cost 30"
reply=$(ask "price 3")
say "client> price 3"
say "server> $reply"
if [ "$reply" = "total 40" ]; then
  say "${red}wrong${off}: total_price() charges one item too many"
else
  problem "expected the buggy reply 'total 40', got '$reply'"
fi

heading "4. Start a load client: 4 connections at a time, each request checked"
"$WORK/load" "$port" 4 >"$WORK/load.log" 2>&1 &
load_pid=$!
sleep 1
say "$(head -n 1 "$WORK/load.log")"

heading "5. Apply the fix to the running server"
say "\$ hotpatch -p $server_pid apply fix.so"
if "$HOTPATCH" -p "$server_pid" apply "$WORK/fix.so" >"$WORK/apply.out" 2>&1; then
  show <"$WORK/apply.out"
else
  show <"$WORK/apply.out"
  problem "apply failed"
fi

heading "6. Ask again"
reply=$(ask "price 3")
say "client> price 3"
say "server> $reply"
if [ "$reply" = "total 30" ]; then
  say "${green}fixed${off}, and the server never stopped (pid $server_pid)"
else
  problem "expected 'total 30' after the fix, got '$reply'"
fi
sleep 1

heading "7. What is applied"
say "\$ hotpatch -p $server_pid list"
"$HOTPATCH" -p "$server_pid" list 2>&1 | show || problem "list failed"

heading "8. Revert the fix: the bug is back"
say "\$ hotpatch -p $server_pid revert fix-total-price"
if "$HOTPATCH" -p "$server_pid" revert fix-total-price >"$WORK/revert.out" 2>&1; then
  show <"$WORK/revert.out"
else
  show <"$WORK/revert.out"
  problem "revert failed"
fi
reply=$(ask "price 3")
say "client> price 3"
say "server> $reply"
[ "$reply" = "total 40" ] || problem "expected 'total 40' after the revert, got '$reply'"
sleep 1

heading "9. Stop the load client"
kill -INT "$load_pid"
load_rc=0
wait "$load_pid" || load_rc=$?
load_pid=''
summary=$(grep -E '^requests=' "$WORK/load.log" || true)
say "${summary:-(no summary)}"
grep -E '^load: ' "$WORK/load.log" | grep -v 'clients running' | head -n 10 | show || true
failures=$(sed -nE 's/.* failures=([0-9]+) .*/\1/p' <<<"$summary")
fixed=$(sed -nE 's/.* fixed_replies=([0-9]+) .*/\1/p' <<<"$summary")
[ "${failures:-x}" = 0 ] && [ "$load_rc" -eq 0 ] || problem "the load client saw ${failures:-?} failed requests"
[ "${fixed:-0}" -gt 0 ] || problem "the load client never got a fixed reply"
kill -0 "$server_pid" 2>/dev/null || problem "the server is gone"

heading "Result"
if [ ${#problems[@]} -eq 0 ]; then
  say "${green}demo passed${off}: fixed live, reverted live, ${fixed} fixed replies, 0 failed requests"
  exit 0
fi
for p in "${problems[@]}"; do say "${red}demo failed${off}: $p"; done
exit 1

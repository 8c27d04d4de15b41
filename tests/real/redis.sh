#!/usr/bin/env bash
# make test-real, third server: Debian 12's redis 7.0.15 with the CVE fixes of its
# debian/patches taken back out, built with redis's own Makefile as Debian does, its
# vendored Lua and hiredis linked in (see redis_tree.sh). For each CVE fix that applies
# alone to that tree, `hotpatch create` makes a patch from Debian's own diff; every patch
# made is applied to the running redis-server while a client keeps requests going (strings,
# counters, Lua scripts, HyperLogLog), the fix is checked where a command can show it, and
# the patch is reverted. Then the whole series as cumulative patches with `apply --replace`.
#
#   bash tests/real/redis.sh [BUILD_DIR]
#
# Prints each step, then a table (docs/real-world.md records a run). Exits non-zero if a
# patch that was made fails to apply or revert, a fix check fails, a request fails, or the
# server dies; a refusal with a reason is counted, not a failure.
set -euo pipefail
build=$(realpath "${1:-build}")
HOTPATCH="$build/hotpatch"
here=$(cd "$(dirname "$0")" && pwd)
jobs=$(nproc)
command -v python3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null
src=$(bash "$here/redis_tree.sh" "$build")
root=$(dirname "$src")
tree_key=$(cat "$root/tree.key")
# The same arguments as redis_tree.sh's build. redis's src/Makefile builds deps/ (Lua,
# hiredis, linenoise, hdr_histogram) only when its settings change (a stamp file, .make-prerequisites),
# so a plain `make` neither rebuilds an archive `create` removed from its copy (to compile
# its objects through the capture) nor recompiles a deps/lua file a fix changes: the
# command builds deps/ first, as `make -C deps` after a fix to deps/lua would by hand.
make_args="USE_SYSTEM_JEMALLOC=yes BUILD_TLS=yes"
make_cmd="make -C deps hiredis linenoise lua hdr_histogram $make_args && make -j$jobs $make_args"
version=$(cd "$src" && dpkg-parsechangelog -S Version)
mapfile -t cves <"$root/cves"  # the CVE fixes, in series order (redis_tree.sh)
echo "redis $version: ${#cves[@]} CVE fixes in debian/patches, taken back out; binary $src/src/redis-server"

# One --work tree for every create, kept while the tree and hotpatch are the same.
work_key="$tree_key $(sha256sum "$HOTPATCH" | cut -c1-16)"
if [ "$(cat "$root/work.key" 2>/dev/null)" != "$work_key" ]; then rm -rf "$root/work"; fi
echo "$work_key" >"$root/work.key"
out="$root/out"
rm -rf "$out"
mkdir -p "$out"

declare -A made result functions size secs
alone=() refused=0 failures=0
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# 1. create -------------------------------------------------------------------------
for p in "${cves[@]}"; do
  id=${p%.patch}
  if ! patch -p1 --dry-run -s -d "$src" <"$src/debian/patches/$p" >/dev/null 2>&1; then
    result[$id]="does not apply alone (needs an earlier fix of the series)"
    continue
  fi
  alone+=("$id")
  t0=$(now)
  set +e
  text=$("$HOTPATCH" create --src "$src" --diff "$src/debian/patches/$p" --build "$make_cmd" \
         --binary src/redis-server -o "$out/$id.so" --work "$root/work" 2>&1)
  rc=$?
  set -e
  secs[$id]=$(elapsed "$t0" "$(now)")
  echo "---- create $p (exit $rc, ${secs[$id]} s)"
  echo "$text"
  functions[$id]=$(sed -nE 's/^changed: ([^ ]+).*/\1/p' <<<"$text" | paste -sd, - | sed 's/,/, /g')
  case $rc in
    0) made[$id]=1; size[$id]=$(stat -c %s "$out/$id.so") ;;
    5) result[$id]="refused: $(grep -E '^(refused|hotpatch: error)' <<<"$text" | head -n 1 | sed 's/^hotpatch: error: //; s/^refused: //')"
       refused=$((refused + 1)) ;;
    *) result[$id]="CREATE FAILED (exit $rc): $(tail -n 1 <<<"$text")"; failures=$((failures + 1)) ;;
  esac
done

# 2. the server -----------------------------------------------------------------------
dir=$(mktemp -d "${TMPDIR:-/tmp}/hotpatch-redis.XXXXXX")
server='' load_pid=''
cleanup() {
  for p in $load_pid $server; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
# No RDB/AOF: a save would fork a child that the patch does not reach.
"$src/src/redis-server" --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
  --logfile "$dir/redis.log" &
server=$!
client="python3 $here/redis_client.py $port"
for _ in $(seq 100); do [ "$($client cmd PING 2>/dev/null)" = "'PONG'" ] && break; sleep 0.1; done
[ "$($client cmd PING)" = "'PONG'" ] || { tail -20 "$dir/redis.log"; exit 1; }
echo "== redis-server $server on port $port"

# 3. each patch live ---------------------------------------------------------------------
# check CVE: "vulnerable ..." or "fixed ..." for the fixes a command can show without
# harming the server; "none" for the others.
check() {
  local r
  case $1 in
    CVE-2025-67733)  # an error reply may not carry CRLF: it would inject a second reply
      r=$($client cmd FUNCTION LIST $'X\r\n+INJECTED')
      if [[ $r == *INJECTED* ]]; then echo "fixed: CRLF replaced ($r)"; else echo "vulnerable: reply cut at the CRLF ($r)"; fi ;;
    0001-Apply-security-fixes-for-CVEs-1113)  # CVE-2024-31227: '%~' without R or W
      $client cmd ACL DELUSER hp-check >/dev/null
      r=$($client cmd ACL SETUSER hp-check '%~x')
      if [[ $r == *"Syntax error"* ]]; then echo "fixed: '%~x' refused ($r)"; else echo "vulnerable: '%~x' accepted ($r)"; fi ;;
    *) echo none ;;
  esac
}
# live NAME CVES STEP...: under load, applies the first step's patch, then each later step
# with `apply --replace PREVIOUS_ID` (STEP: ID=FILE), runs the checks of the CVEs
# (before, patched, reverted), reverts the last step's patch. Sets live_result.
live() {
  local name=$1 cves=$2 step id file previous='' text line pauses=() ok=1 c
  local -A before after back
  shift 2
  echo "---- live $name"
  for c in $cves; do before[$c]=$(check "$c"); done
  $client load 300 >"$out/load-$name.log" 2>&1 &
  load_pid=$!
  sleep 1
  for step in "$@"; do
    id=${step%%=*} file=${step#*=}
    if text=$("$HOTPATCH" -p "$server" apply ${previous:+--replace "$previous"} "$file" 2>&1); then
      line=$(grep -E '^(applied|replaced) ' <<<"$text" | head -n 1)
      echo "$line"
      pauses+=("$(sed -nE 's/.*paused ([0-9]+) us.*/\1/p' <<<"$line")")
    else
      echo "APPLY FAILED: $text"; ok=0
    fi
    previous=$id
  done
  for c in $cves; do after[$c]=$(check "$c"); done
  "$HOTPATCH" -p "$server" list | sed 's/^/  /'
  sleep 1
  if ! "$HOTPATCH" -p "$server" revert "$previous" >/dev/null 2>"$out/revert.err"; then
    echo "REVERT FAILED: $(cat "$out/revert.err")"; ok=0
  fi
  for c in $cves; do back[$c]=$(check "$c"); done
  kill -TERM "$load_pid"
  wait "$load_pid" || true
  load_pid=''
  local load effect='' observed=0 wrong=0
  load=$(tail -n 1 "$out/load-$name.log")
  for c in $cves; do
    [ "${after[$c]}" != none ] || continue
    printf 'check %s: before: %s\n    patched: %s\n    reverted: %s\n' "$c" "${before[$c]}" "${after[$c]}" "${back[$c]}"
    if [[ ${after[$c]} == fixed* && ${before[$c]} == vulnerable* && ${back[$c]} == vulnerable* ]]; then
      observed=$((observed + 1))
      [ "$cves" = "$c" ] && effect="fixed live (vulnerable before and after revert): ${after[$c]#fixed: }"
    else
      effect="${effect:+$effect; }FIX NOT OBSERVED ($c): ${after[$c]}"; wrong=$((wrong + 1))
    fi
  done
  [ "$cves" != "${cves% *}" ] && [ $wrong = 0 ] && effect="$observed fixes observed live"
  [ -n "$effect" ] || effect="not observable here, functions checked"
  echo "load: $load"
  failures=$((failures + wrong))
  [[ $load == *" failed=0" ]] || { effect="$effect; LOAD FAILURES"; failures=$((failures + 1)); }
  kill -0 "$server" 2>/dev/null || { effect="$effect; THE SERVER DIED"; failures=$((failures + 1)); tail -20 "$dir/redis.log"; }
  [ $ok = 1 ] || { effect="$effect; APPLY/REVERT FAILED"; failures=$((failures + 1)); }
  live_result="applied, paused $(printf '%s\n' "${pauses[@]}" | paste -sd/ -) us; $effect; $load"
  kill -0 "$server" 2>/dev/null || exit 1
}
for id in "${alone[@]}"; do
  [ -n "${made[$id]:-}" ] || continue
  live "$id" "$id" "$id=$out/$id.so"
  result[$id]=$live_result
done

# 4. the series as cumulative patches ---------------------------------------------------------
# Patch k holds fixes 1..k of the series, made with one --diff per fix; the server moves
# from patch k-1 to k with `apply --replace`. Left out: the fixes `create` refused alone
# (with their reason, in the table): the rest still make a series.
series=() steps=() series_cves='' left_out=() rc=0
for p in "${cves[@]}"; do
  id=${p%.patch}
  if [[ ${result[$id]:-} == refused* ]]; then left_out+=("$id"); continue; fi
  series+=(--diff "$src/debian/patches/$p") series_cves="$series_cves $id"
  k=${#steps[@]}
  set +e
  text=$("$HOTPATCH" create --src "$src" "${series[@]}" --build "$make_cmd" --binary src/redis-server \
         -o "$out/series-$((k + 1)).so" --id "series-$((k + 1))" --work "$root/work" 2>&1)
  rc=$?
  set -e
  if [ $rc = 2 ] && grep -q 'does not apply cleanly' <<<"$text"; then
    # Its diff needs a fix left out above (CVE-2025-46819's test hunk follows CVE-2025-46818's).
    echo "---- series: $id left out, its diff does not apply without the fixes left out before it"
    unset 'series[${#series[@]}-1]' 'series[${#series[@]}-1]'
    series=("${series[@]}") series_cves=${series_cves% "$id"} left_out+=("$id")
    rc=0
    continue
  fi
  if [ $rc != 0 ]; then
    echo "---- create series-$((k + 1)) (fixes 1..$((k + 1)), up to $id): exit $rc"
    echo "$text"
    break
  fi
  steps+=("series-$((k + 1))=$out/series-$((k + 1)).so")
done
echo "---- cumulative patches made: ${#steps[@]} of $(wc -w <<<"$series_cves")"
if [ ${#steps[@]} = 0 ]; then
  cumulative="CUMULATIVE CREATE FAILED: $(grep -E '^(refused|hotpatch: error)' <<<"$text" | head -n 1)"
  failures=$((failures + 1))
else
  live series "$series_cves" "${steps[@]}"
  cumulative="${#steps[@]} of $(wc -w <<<"$series_cves") made, replaced one by one: $live_result"
fi
[ $rc = 0 ] || [ ${#steps[@]} = 0 ] || { cumulative="$cumulative; SERIES CREATE FAILED at patch $((${#steps[@]} + 1)): $(grep -E '^(refused|hotpatch: error)' <<<"$text" | head -n 1)"; failures=$((failures + 1)); }
[ ${#left_out[@]} = 0 ] || cumulative="$cumulative (left out: refused alone, or needing one of those: ${left_out[*]})"
echo "---- cumulative: $cumulative"

# 5. summary ---------------------------------------------------------------------------------
live=0
echo
echo "| CVE fix (debian/patches) | functions | create s | patch bytes | result |"
echo "| --- | --- | --- | --- | --- |"
for p in "${cves[@]}"; do
  id=${p%.patch}
  [[ ${result[$id]:-} == applied*failed=0 && ${result[$id]} != *FAILED* && ${result[$id]} != *DIED* && ${result[$id]} != *"NOT OBSERVED"* ]] && live=$((live + 1))
  echo "| $id | ${functions[$id]:--} | ${secs[$id]:--} | ${size[$id]:--} | ${result[$id]:-} |"
done
echo
echo "fixes that apply alone: ${#alone[@]}; live with 0 failed requests: $live; refused with a reason: $refused; failures: $failures"
echo "cumulative series: $cumulative"
exit $((failures > 0))

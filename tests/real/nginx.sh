#!/usr/bin/env bash
# make test-real, second server: Debian 12's nginx 1.22.1 with the CVE fixes of its
# debian/patches taken back out, built with ./configure and the modules those fixes
# touch, run as a master with 2 workers. For each CVE fix that applies alone to that
# tree, `hotpatch create` makes a patch from Debian's own diff; every patch made is
# applied to every process of the server (master and workers) while a client keeps
# requests going on every module involved, the fix is checked where a request can
# show it, and the patch is reverted. Then the whole series as cumulative patches.
#
#   bash tests/real/nginx.sh [BUILD_DIR]
#
# Prints each step, then a table (docs/real-world.md records a run). Exits non-zero if a
# patch that was made fails to apply or revert, a fix check fails, a request fails, or a
# process dies; a refusal with a reason is counted, not a failure.
# The unpacked, configured and built tree is kept in BUILD_DIR/real-nginx and reused while
# its inputs are the same; so is the `--work` tree, while hotpatch is the same binary.
set -euo pipefail
build=$(realpath "${1:-build}")
HOTPATCH="$build/hotpatch"
here=$(cd "$(dirname "$0")" && pwd)
jobs=$(nproc)
# openssl: the test's certificates; python3: the load client and the backends.
for p in openssl python3; do
  command -v "$p" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
done
src=$(bash "$here/nginx_tree.sh" "$build")
root=$(dirname "$src")
tree_key=$(cat "$root/tree.key")
version=$(cd "$src" && dpkg-parsechangelog -S Version)
mapfile -t cves < <(grep -i 'cve' "$src/debian/patches/series")
echo "nginx $version: ${#cves[@]} CVE fixes in debian/patches, taken back out; binary $src/objs/nginx"

# One --work tree for every create, kept while the tree and hotpatch are the same.
work_key="$tree_key $(sha256sum "$HOTPATCH" | cut -c1-16)"
if [ "$(cat "$root/work.key" 2>/dev/null)" != "$work_key" ]; then rm -rf "$root/work"; fi
echo "$work_key" >"$root/work.key"
out="$root/out"
rm -rf "$out"
mkdir -p "$out"

# Fixes no correct live patch can be made from alone: a patch made for one is wrong, and
# counts as a failure (a refusal is the right answer).
declare -A must_refuse=(
  [CVE-2026-40701]="it adds a member in the middle of struct ngx_ssl_ocsp_ctx_s: an OCSP context allocated before the apply would be read at the new offsets"
)
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
  text=$("$HOTPATCH" create --src "$src" --diff "$src/debian/patches/$p" --build "make -j$jobs" \
         --binary objs/nginx -o "$out/$id.so" --work "$root/work" 2>&1)
  rc=$?
  set -e
  secs[$id]=$(elapsed "$t0" "$(now)")
  echo "---- create $p (exit $rc, ${secs[$id]} s)"
  echo "$text"
  functions[$id]=$(sed -nE 's/^changed: ([^ ]+).*/\1/p' <<<"$text" | paste -sd, - | sed 's/,/, /g')
  case $rc in
    0) if [ -n "${must_refuse[$id]:-}" ]; then
         result[$id]="MADE BUT MUST BE REFUSED: ${must_refuse[$id]}"; failures=$((failures + 1))
       else
         made[$id]=1
       fi
       size[$id]=$(stat -c %s "$out/$id.so") ;;
    5) result[$id]="refused: $(grep -E '^(refused|hotpatch: error)' <<<"$text" | head -n 1 | sed 's/^hotpatch: error: //')"
       refused=$((refused + 1)) ;;
    *) result[$id]="CREATE FAILED (exit $rc): $(tail -n 1 <<<"$text")"; failures=$((failures + 1)) ;;
  esac
done

# 2. the server -----------------------------------------------------------------------
prefix=$(mktemp -d "${TMPDIR:-/tmp}/hotpatch-nginx.XXXXXX")
chmod 755 "$prefix"  # workers run as nobody and read html/ and the certificates
backends_pid='' master='' load_pid=''
cleanup() {
  for p in $load_pid $master $backends_pid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$prefix"
}
trap cleanup EXIT
bash "$here/nginx_setup.sh" "$prefix" "$src"
python3 "$here/nginx_backends.py" "$prefix" >"$prefix/logs/backends.log" 2>&1 &
backends_pid=$!
for _ in $(seq 100); do [ -f "$prefix/ports" ] && break; sleep 0.1; done
[ -f "$prefix/ports" ] || { cat "$prefix/logs/backends.log"; exit 1; }
bash "$here/nginx_setup.sh" "$prefix" "$src" conf
"$src/objs/nginx" -p "$prefix" -c nginx.conf -e logs/error.log &
master=$!
client="python3 $here/nginx_client.py $prefix"
$client ready || { tail -20 "$prefix/logs/error.log"; exit 1; }
pids() { echo "$master $(pgrep -P "$master" | tr '\n' ' ')"; }
echo "== nginx master $master, workers $(pgrep -P "$master" | paste -sd' ' -)"

# 3. each patch live ---------------------------------------------------------------------
declare -A safety
while read -r c s; do safety[$c]=$s; done < <($client checks)
check_of() {  # the check for a CVE, if any: prints "safe" or "patched-only" or "none"
  local c
  for c in "${!safety[@]}"; do [[ $1 == "$c"* ]] && { echo "${safety[$c]}"; return; }; done
  echo none
}
# live NAME CVES STEP...: under load, applies the first step's patch to every process,
# then each later step with `apply --replace PREVIOUS_ID` (STEP: ID=FILE), runs the checks
# of the CVEs (space-separated; before, patched, reverted), reverts the last step's patch.
# Sets live_result ("applied to ...; effect; load") and counts failures.
live() {
  local name=$1 cves=$2 step id file previous='' pid text line pauses=() procs ok=1 c kind
  local -A before after back
  shift 2
  echo "---- live $name"
  local log_at
  log_at=$(stat -c %s "$prefix/logs/error.log")
  for c in $cves; do [ "$(check_of "$c")" = safe ] && before[$c]=$($client check "$c"); done
  $client load 4 >"$out/load-$name.log" 2>&1 &
  load_pid=$!
  sleep 1
  procs=$(pids)
  for step in "$@"; do
    id=${step%%=*} file=${step#*=}
    for pid in $procs; do
      if text=$("$HOTPATCH" -p "$pid" apply ${previous:+--replace "$previous"} "$file" 2>&1); then
        line=$(grep -E '^(applied|replaced) ' <<<"$text" | head -n 1)
        echo "pid $pid: $line"
        pauses+=("$(sed -nE 's/.*paused ([0-9]+) us.*/\1/p' <<<"$line")")
      else
        echo "pid $pid: APPLY FAILED: $text"; ok=0
      fi
    done
    previous=$id
  done
  for c in $cves; do [ "$(check_of "$c")" != none ] && after[$c]=$($client check "$c"); done
  "$HOTPATCH" -p "$master" list | sed 's/^/  /'
  sleep 1
  # Every process now: a worker forked while the patch was applied has it too.
  for pid in $(pids); do
    if ! "$HOTPATCH" -p "$pid" revert "$previous" >/dev/null 2>"$out/revert.err" && [[ " $procs " == *" $pid "* ]]; then
      echo "pid $pid: REVERT FAILED: $(cat "$out/revert.err")"; ok=0
    fi
  done
  for c in $cves; do [ "$(check_of "$c")" = safe ] && back[$c]=$($client check "$c"); done
  kill -TERM "$load_pid"
  wait "$load_pid" || true
  load_pid=''
  local load effect='' observed=0 wrong=0
  load=$(tail -n 1 "$out/load-$name.log")
  grep '^failed ' "$out/load-$name.log" | head -n 3 || true
  for c in $cves; do
    kind=$(check_of "$c")
    [ "$kind" != none ] || continue
    printf 'check %s: before: %s\n    patched: %s\n    reverted: %s\n' "$c" "${before[$c]:-(not sent)}" "${after[$c]}" "${back[$c]:-(not sent)}"
    if [[ ${after[$c]} == fixed* ]] && { [ "$kind" != safe ] || { [[ ${before[$c]} == vulnerable* ]] && [[ ${back[$c]} == vulnerable* ]]; }; }; then
      observed=$((observed + 1))
      [ "$cves" = "$c" ] && effect="fixed live${before[$c]:+ (vulnerable before and after revert)}: ${after[$c]#fixed }"
    else
      effect="${effect:+$effect; }FIX NOT OBSERVED ($c): ${after[$c]}"; wrong=$((wrong + 1))
    fi
  done
  [ "$cves" != "${cves% *}" ] && [ $wrong = 0 ] && effect="$observed fixes observed live"
  [ -n "$effect" ] || effect="not observable here, functions checked"
  echo "load: $load"
  failures=$((failures + wrong))
  [[ $load == *" failed=0" ]] || { effect="$effect; LOAD FAILURES"; failures=$((failures + 1)); }
  [ "$(pids)" = "$procs" ] || { effect="$effect; A PROCESS DIED ($procs -> $(pids))"; failures=$((failures + 1)); }
  if [[ $effect == *FAIL* || $effect == *DIED* ]]; then  # what nginx said meanwhile
    tail -c +$((log_at + 1)) "$prefix/logs/error.log" | grep -aE '\[(emerg|alert|crit)\]|verify error|signal 11' |
      tail -n 5 | sed 's/^/  error.log: /' || true
  fi
  [ $ok = 1 ] || { effect="$effect; APPLY/REVERT FAILED"; failures=$((failures + 1)); }
  live_result="applied to $(wc -w <<<"$procs") processes, paused $(printf '%s\n' "${pauses[@]}" | paste -sd/ -) us; $effect; $load"
}
for id in "${alone[@]}"; do
  [ -n "${made[$id]:-}" ] || continue
  live "$id" "$id" "$id=$out/$id.so"
  result[$id]=$live_result
done

# 4. the series as cumulative patches ---------------------------------------------------------
# Patch k holds fixes 1..k of the series (those that must be refused left out), made with
# one --diff per fix; the server moves from patch k-1 to k with `apply --replace`.
series=() steps=() series_cves=''
for p in "${cves[@]}"; do
  id=${p%.patch}
  [ -z "${must_refuse[$id]:-}" ] || continue
  series+=(--diff "$src/debian/patches/$p") series_cves="$series_cves $id"
  k=${#steps[@]}
  set +e
  text=$("$HOTPATCH" create --src "$src" "${series[@]}" --build "make -j$jobs" --binary objs/nginx \
         -o "$out/series-$((k + 1)).so" --id "series-$((k + 1))" --work "$root/work" 2>&1)
  rc=$?
  set -e
  if [ $rc != 0 ]; then
    echo "---- create series-$((k + 1)) (fixes 1..$((k + 1)), up to $id): exit $rc"
    echo "$text"
    break
  fi
  steps+=("series-$((k + 1))=$out/series-$((k + 1)).so")
done
echo "---- cumulative patches made: ${#steps[@]} of $(wc -w <<<"$series_cves")"
if [ $rc = 2 ]; then
  cumulative="pending: create takes one --diff ($(head -n 1 <<<"$text" | sed 's/^hotpatch: error: //'))"
elif [ ${#steps[@]} = 0 ]; then
  cumulative="CUMULATIVE CREATE FAILED: $(grep -E '^(refused|hotpatch: error)' <<<"$text" | head -n 1)"
  failures=$((failures + 1))
elif ! "$HOTPATCH" apply --help 2>&1 | grep -q -- '--replace'; then
  # No atomic replace yet: the last cumulative patch alone, every fix in it checked.
  live series "$series_cves" "${steps[-1]}"
  cumulative="${#steps[@]} of $(wc -w <<<"$series_cves") made; apply --replace pending; the last one alone: $live_result"
else
  live series "$series_cves" "${steps[@]}"
  cumulative="${#steps[@]} of $(wc -w <<<"$series_cves") made, replaced one by one: $live_result"
fi
[ $rc = 0 ] || [ $rc = 2 ] || [ ${#steps[@]} = 0 ] || { cumulative="$cumulative; SERIES CREATE FAILED at patch $((${#steps[@]} + 1))"; failures=$((failures + 1)); }
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

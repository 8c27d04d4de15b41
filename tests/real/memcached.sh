#!/usr/bin/env bash
# make test-real: hotpatch on code no one here wrote. Debian 12's memcached source,
# with the CVE fixes of its debian/patches taken back out, is built and run; for
# each CVE fix, `hotpatch create` makes a patch from Debian's own diff, and every
# patch made is applied to the running memcached under load, checked, reverted.
# Results go to stdout as a table (docs/real-world.md records a run).
set -euo pipefail
build=$(realpath "${1:-build}")
HOTPATCH="$build/hotpatch"
here=$(cd "$(dirname "$0")" && pwd)
client="python3 $here/mc_client.py"

bash "$here/../../scripts/enable-deb-src.sh"
need=()
for p in dpkg-dev libevent-dev libsasl2-dev libsasl2-modules libssl-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi

root="$build/real"
rm -rf "$root"
mkdir -p "$root"
cd "$root"
apt-get source -qq memcached >source.log 2>&1 || { cat source.log; exit 1; }
src=$(realpath memcached-*/)
mapfile -t cves < <(grep -i 'cve' "$src/debian/patches/series")
echo "memcached $(basename "$src"), CVE fixes in debian/patches: ${cves[*]}"

# The vulnerable tree: every CVE fix taken back out, newest first.
for ((i = ${#cves[@]} - 1; i >= 0; i--)); do patch -R -p1 -s -d "$src" <"$src/debian/patches/${cves[i]}"; done
# Debian's own options, plus the SASL password database that CVE-2026-47783 is in.
(cd "$src" && ./configure -q --enable-sasl --enable-sasl-pwdb --enable-tls >"$root/configure.log" 2>&1 &&
  make -s -j"$(nproc)" memcached >"$root/make.log" 2>&1) || { tail -20 "$root/make.log"; exit 1; }

declare -A result
created=()
for p in "${cves[@]}"; do
  set +e
  out=$("$HOTPATCH" create --src "$src" --diff "$src/debian/patches/$p" --build "make -j$(nproc) memcached" \
        --binary memcached -o "$root/${p%.patch}.so" --work "$root/work" 2>&1)
  rc=$?
  set -e
  echo "---- create $p (exit $rc)"
  echo "$out"
  case $rc in
    0) result[$p]="patch created: $(grep -c '^changed:' <<<"$out") function(s)"; created+=("$p") ;;
    5) result[$p]="not made: $(grep -E '^(refused|hotpatch: error)' <<<"$out" | head -n 1)" ;;
    *) result[$p]="create failed (exit $rc)"; echo "$out"; exit 1 ;;
  esac
done

# A password database where the user appears twice: the vulnerable code stops at
# the first entry with the user's name, the fixed code scans the whole file.
host=$(hostname)
mkdir -p "$root/sasl"
echo "mech_list: plain" >"$root/sasl/memcached.conf"
printf 'user@%s:first\nuser@%s:second\n' "$host" "$host" >"$root/pwdb"
export SASL_CONF_PATH="$root/sasl" MEMCACHED_SASL_PWDB="$root/pwdb"
port=$((20000 + RANDOM % 20000))
"$src/memcached" -S -U 0 -l 127.0.0.1 -p "$port" -u root >"$root/memcached.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do $client "$port" auth user first >/dev/null 2>&1 && break; sleep 0.1; done

failures=0
for p in "${created[@]}"; do
  id=${p%.patch}
  before=$($client "$port" auth user second)
  $client "$port" load user first 6 >"$root/load-$id.log" 2>&1 &
  load=$!
  sleep 1
  # The "applied ..." line for the table; notes (memcached is C: no unwinder) printed.
  applied=$("$HOTPATCH" -p "$pid" apply "$root/$id.so")
  grep '^note: ' <<<"$applied" || true
  applied=$(grep '^applied ' <<<"$applied")
  after=$($client "$port" auth user second)
  still=$($client "$port" auth user first)
  wrong=$($client "$port" auth user nope)
  listed=$("$HOTPATCH" -p "$pid" list)
  sleep 1
  reverted=$("$HOTPATCH" -p "$pid" revert "$id")
  back=$($client "$port" auth user second)
  wait "$load" || true
  load_result=$(tail -n 1 "$root/load-$id.log")
  echo "---- live $p"
  printf '%s\n' "$applied" "second entry before: $before, patched: $after, reverted: $back" \
    "first entry patched: $still; unknown password patched: $wrong" "$listed" "$reverted" "load: $load_result"
  effect="no visible change"
  if [[ $p == *CVE-2026-47783* ]]; then
    if [ "$before" = "auth refused" ] && [ "$after" = "auth ok" ] && [ "$back" = "auth refused" ] &&
       [ "$still" = "auth ok" ] && [ "$wrong" = "auth refused" ]; then
      effect="fixed live: the whole password file is scanned"
    else
      effect="FIX NOT OBSERVED"; failures=$((failures + 1))
    fi
  fi
  [[ $load_result == *" failed=0" ]] || { effect="$effect; LOAD FAILURES"; failures=$((failures + 1)); }
  kill -0 "$pid" || { echo "memcached died"; exit 1; }
  result[$p]="${result[$p]}; ${applied#applied }; $effect; $load_result"
done

echo
echo "| CVE fix (debian/patches) | result |"
echo "| --- | --- |"
for p in "${cves[@]}"; do echo "| $p | ${result[$p]} |"; done
[ ${#created[@]} -gt 0 ] || { echo "no patch could be made"; exit 1; }
exit $failures

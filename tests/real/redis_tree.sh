#!/usr/bin/env bash
# The vulnerable redis tree that tests/real/redis.sh patches: Debian 12's redis source
# with the CVE fixes of debian/patches taken back out (the packaging patches stay), built
# with redis's own Makefile. Kept in BUILD/real-redis and reused while the inputs below
# are the same.
#
#   bash tests/real/redis_tree.sh BUILD    -> prints the tree's path (progress on stderr)
#
# Build choice: redis's own `make` the way Debian's debian/rules calls it,
# USE_SYSTEM_JEMALLOC=yes (Debian's patch 0004 only builds that way: with the vendored
# jemalloc its `#if USE_SYSTEM_JEMALLOC == yes` is true and the link fails), so jemalloc
# is the system's libjemalloc; the other vendored dependencies (deps/lua, deps/hiredis,
# deps/hdr_histogram) are built by the same make and linked statically into
# redis-server: the CVE fixes to deps/lua patch code of the program. BUILD_TLS=yes:
# src/tls.c (a CVE fix) is compiled in. Debian's USE_SYSTEMD=yes is left out (no effect
# on the code the fixes touch).
set -euo pipefail
build=$(realpath "${1:-build}")
here=$(cd "$(dirname "$0")" && pwd)
jobs=$(nproc)
version=5:7.0.15-1~deb12u10
make_args=(USE_SYSTEM_JEMALLOC=yes BUILD_TLS=yes)

bash "$here/../../scripts/enable-deb-src.sh" >&2
need=()
# dpkg-dev: apt-get source; libjemalloc-dev: USE_SYSTEM_JEMALLOC; libssl-dev, pkg-config: BUILD_TLS.
for p in dpkg-dev libjemalloc-dev libssl-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi

root="$build/real-redis"
src="$root/redis-7.0.15"
recipe=2  # bump when the way the tree is made changes
tree_key="recipe=$recipe redis=$version ${make_args[*]}"
mkdir -p "$root"
if [ "$(cat "$root/tree.key" 2>/dev/null)" != "$tree_key" ] || [ ! -x "$src/src/redis-server" ]; then
  echo >&2 "== unpacking and building redis $version (kept in $root for the next runs)"
  rm -rf "$root"
  mkdir -p "$root/dl"
  (cd "$root/dl" && apt-get source -qq "redis=$version" >source.log 2>&1) || { cat >&2 "$root/dl/source.log"; exit 1; }
  mv "$root/dl/redis-7.0.15" "$src"
  # A CVE fix: a patch whose name or description names a CVE (one is named
  # 0001-Limiting-output-buffer-for-unauthenticated-client-CV.patch). The list is kept in
  # $root/cves for redis.sh.
  while read -r p; do
    [[ -n $p && $p != \#* ]] || continue
    if [[ $p == *[Cc][Vv][Ee]* ]] || sed -n '1,/^---$/p' "$src/debian/patches/$p" | grep -qi 'CVE-[0-9]'; then echo "$p"; fi
  done <"$src/debian/patches/series" >"$root/cves"
  mapfile -t all_cves <"$root/cves"
  # The vulnerable tree: every CVE fix taken back out, newest first.
  for ((i = ${#all_cves[@]} - 1; i >= 0; i--)); do
    patch -R -p1 -s -d "$src" <"$src/debian/patches/${all_cves[i]}"
  done
  (cd "$src" && make -j"$jobs" "${make_args[@]}" >"$root/make.log" 2>&1) || { tail >&2 -20 "$root/make.log"; exit 1; }
  echo "$tree_key" >"$root/tree.key"
fi
echo "$src"

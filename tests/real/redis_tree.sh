#!/usr/bin/env bash
# The vulnerable redis tree that tests/real/redis.sh patches: Debian 12's redis source
# with the CVE fixes of debian/patches taken back out (the packaging patches stay), built
# with redis's own Makefile. Kept in BUILD/real-redis and reused while the inputs below
# are the same.
#
#   bash tests/real/redis_tree.sh BUILD    -> prints the tree's path (progress on stderr)
#
# Build choice: plain `make` with the vendored dependencies (deps/jemalloc, deps/lua,
# deps/hiredis, deps/hdr_histogram, deps/linenoise) linked statically into redis-server,
# so fixes in deps/lua are part of the program that runs. Debian's package builds with
# USE_SYSTEM_JEMALLOC=yes (and its own lua patches upstream of 12); the vendored Lua is
# what the CVE fixes to deps/lua patch. BUILD_TLS=yes: src/tls.c (a CVE fix) is compiled in.
set -euo pipefail
build=$(realpath "${1:-build}")
here=$(cd "$(dirname "$0")" && pwd)
jobs=$(nproc)
version=5:7.0.15-1~deb12u10
make_args=(BUILD_TLS=yes)

bash "$here/../../scripts/enable-deb-src.sh" >&2
need=()
# dpkg-dev: apt-get source; libssl-dev, pkg-config: BUILD_TLS=yes.
for p in dpkg-dev libssl-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi

root="$build/real-redis"
src="$root/redis-7.0.15"
recipe=1  # bump when the way the tree is made changes
tree_key="recipe=$recipe redis=$version ${make_args[*]}"
mkdir -p "$root"
if [ "$(cat "$root/tree.key" 2>/dev/null)" != "$tree_key" ] || [ ! -x "$src/src/redis-server" ]; then
  echo >&2 "== unpacking and building redis $version (kept in $root for the next runs)"
  rm -rf "$root"
  mkdir -p "$root/dl"
  (cd "$root/dl" && apt-get source -qq "redis=$version" >source.log 2>&1) || { cat >&2 "$root/dl/source.log"; exit 1; }
  mv "$root/dl/redis-7.0.15" "$src"
  mapfile -t all_cves < <(grep -i 'cve' "$src/debian/patches/series")
  # The vulnerable tree: every CVE fix taken back out, newest first.
  for ((i = ${#all_cves[@]} - 1; i >= 0; i--)); do
    patch -R -p1 -s -d "$src" <"$src/debian/patches/${all_cves[i]}"
  done
  (cd "$src" && make -j"$jobs" "${make_args[@]}" >"$root/make.log" 2>&1) || { tail >&2 -20 "$root/make.log"; exit 1; }
  echo "$tree_key" >"$root/tree.key"
fi
echo "$src"

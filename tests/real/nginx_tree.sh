#!/usr/bin/env bash
# The vulnerable nginx tree that tests/real/nginx.sh and bench/run.sh (P4) patch:
# Debian 12's nginx source with the CVE fixes of debian/patches taken back out, configured
# and built. Kept in BUILD/real-nginx and reused while the inputs below are the same.
#
#   bash tests/real/nginx_tree.sh BUILD    -> prints the tree's path (progress on stderr)
set -euo pipefail
build=$(realpath "${1:-build}")
here=$(cd "$(dirname "$0")" && pwd)
jobs=$(nproc)
version=1.22.1-9+deb12u9  # pinned: the newest security upload's files are not on the mirror
# Debian's hardening flags (dpkg-buildflags, debian/rules' -fPIC) and the modules the
# CVE fixes touch: mp4, dav, charset, grpc (needs http_v2), scgi, uwsgi, proxy/upstream,
# rewrite (PCRE2), SNI and OCSP (ssl), mail (+ssl), stream (+ssl). mail and stream are
# linked in, where Debian builds them as dynamic modules.
configure_args=(
  --with-cc-opt='-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -Wdate-time -D_FORTIFY_SOURCE=2'
  --with-ld-opt='-Wl,-z,relro -Wl,-z,now -fPIC'
  --with-debug --with-compat --with-threads --with-pcre-jit
  --with-http_ssl_module --with-http_v2_module --with-http_dav_module --with-http_mp4_module
  --with-http_stub_status_module --with-http_sub_module
  --with-mail --with-mail_ssl_module --with-stream --with-stream_ssl_module --with-stream_ssl_preread_module
)

bash "$here/../../scripts/enable-deb-src.sh" >&2
need=()
# dpkg-dev: apt-get source; libpcre2-dev, libssl-dev, zlib1g-dev: nginx's ./configure.
for p in dpkg-dev libpcre2-dev libssl-dev zlib1g-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi

root="$build/real-nginx"
src="$root/nginx-1.22.1"
recipe=1  # bump when the way the tree is made changes
tree_key="recipe=$recipe nginx=$version ${configure_args[*]}"
mkdir -p "$root"
if [ "$(cat "$root/tree.key" 2>/dev/null)" != "$tree_key" ] || [ ! -x "$src/objs/nginx" ]; then
  echo >&2 "== unpacking and building nginx $version (kept in $root for the next runs)"
  rm -rf "$root"
  mkdir -p "$root/dl"
  (cd "$root/dl" && apt-get source -qq "nginx=$version" >source.log 2>&1) || { cat >&2 "$root/dl/source.log"; exit 1; }
  mv "$root/dl/nginx-1.22.1" "$src"
  mapfile -t all_cves < <(grep -i 'cve' "$src/debian/patches/series")
  # The vulnerable tree: every CVE fix taken back out, newest first.
  for ((i = ${#all_cves[@]} - 1; i >= 0; i--)); do
    patch -R -p1 -s -d "$src" <"$src/debian/patches/${all_cves[i]}"
  done
  (cd "$src" && ./configure "${configure_args[@]}" >"$root/configure.log" 2>&1) || { tail >&2 -20 "$root/configure.log"; exit 1; }
  (cd "$src" && make -j"$jobs" >"$root/make.log" 2>&1) || { tail >&2 -20 "$root/make.log"; exit 1; }
  echo "$tree_key" >"$root/tree.key"
fi
echo "$src"

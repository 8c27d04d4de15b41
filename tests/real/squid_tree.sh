#!/usr/bin/env bash
# The vulnerable squid tree that tests/real/squid.sh patches: Debian 12's squid source
# with the CVE fixes of debian/patches taken back out, configured and built. Kept in
# BUILD/real-squid and reused while the inputs below are the same.
#
#   bash tests/real/squid_tree.sh BUILD    -> prints the tree's path (progress on stderr)
set -euo pipefail
build=$(realpath "${1:-build}")
here=$(cd "$(dirname "$0")" && pwd)
jobs=$(nproc)
version=5.7-2+deb12u6  # pinned: the patches' list below is this upload's
# Debian's flags (dpkg-buildflags) and the parts the CVE fixes touch: Uri, HTTP/1 parser,
# digest auth (the scheme; no helper programs), ipc, client side, cache manager, http.cc,
# libTrie, store/MemStore, netdb (--enable-icmp), peer digests (--enable-cache-digests),
# SNMP (lib/snmplib), FTP, ICP. Left out to keep an offline build short: every helper
# program (they are other binaries), TLS (no fix touches it), ESI (Debian disables it),
# eCAP (libecap3-dev; only one file of one fix), and libtool's second (PIC) copy of every
# object (--disable-shared: Debian's build makes both, squid links the static one).
configure_args=(
  CFLAGS="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security"
  CXXFLAGS="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security"
  CPPFLAGS="-Wdate-time -D_FORTIFY_SOURCE=2" LDFLAGS="-Wl,-z,relro -Wl,-z,now"
  --disable-shared --disable-arch-native --enable-delay-pools --enable-cache-digests --enable-icmp
  --enable-storeio=ufs,aufs,rock --enable-removal-policies=lru,heap
  --enable-auth-basic=none --enable-auth-digest=none --disable-auth-negotiate --disable-auth-ntlm
  --enable-external-acl-helpers=none --disable-url-rewrite-helpers --disable-storeid-rewrite-helpers
  --disable-security-cert-validators --disable-security-cert-generators --enable-log-daemon-helpers=none
  --disable-esi --without-gnutls --without-openssl --disable-translation --without-systemd
  --with-large-files --with-filedescriptors=4096
)

bash "$here/../../scripts/enable-deb-src.sh" >&2
need=()
# dpkg-dev: apt-get source; libxml2-dev, libexpat1-dev: squid's ./configure (libltdl is its own);
# automake, autoconf, libtool: a fix that changes a Makefile.am regenerates Makefile.in.
for p in dpkg-dev libxml2-dev libexpat1-dev automake autoconf libtool; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi

root="$build/real-squid"
src="$root/squid-5.7"
recipe=1  # bump when the way the tree is made changes
tree_key="recipe=$recipe squid=$version ${configure_args[*]}"
mkdir -p "$root"
if [ "$(cat "$root/tree.key" 2>/dev/null)" != "$tree_key" ] || [ ! -x "$src/src/squid" ]; then
  echo >&2 "== unpacking and building squid $version (kept in $root for the next runs; long)"
  rm -rf "$root"
  mkdir -p "$root/dl"
  (cd "$root/dl" && apt-get source -qq "squid=$version" >source.log 2>&1) || { cat >&2 "$root/dl/source.log"; exit 1; }
  mv "$root/dl/squid-5.7" "$src"
  mapfile -t all_cves < <(grep -i 'cve' "$src/debian/patches/series")
  # The vulnerable tree: every CVE fix taken back out, newest first.
  for ((i = ${#all_cves[@]} - 1; i >= 0; i--)); do
    patch -R -p1 -s -d "$src" <"$src/debian/patches/${all_cves[i]}"
  done
  # Taking fixes out touched Makefile.am files: their Makefile.in (generated from the same
  # text, shipped in the tarball) must look newer, or make would run automake.
  (cd "$src" && touch aclocal.m4 && touch configure && find . -name Makefile.in -exec touch {} + &&
   touch include/autoconf.h.in)
  (cd "$src" && ./configure "${configure_args[@]}" >"$root/configure.log" 2>&1) || { tail >&2 -20 "$root/configure.log"; exit 1; }
  (cd "$src" && make -j"$jobs" >"$root/make.log" 2>&1) || { tail >&2 -20 "$root/make.log"; exit 1; }
  echo "$tree_key" >"$root/tree.key"
fi
echo "$src"

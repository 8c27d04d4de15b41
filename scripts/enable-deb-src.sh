#!/usr/bin/env bash
# Lets `apt-get source PKG` work: adds deb-src entries for the same Debian suites the
# machine already uses (the real-world tests build Debian's own sources).
set -euo pipefail
list=/etc/apt/sources.list.d/hotpatch-deb-src.sources
if grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ || grep -qs '^deb-src ' /etc/apt/sources.list; then
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "enable-deb-src: run as root" >&2; exit 1; }
cat >"$list" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt-get update -qq

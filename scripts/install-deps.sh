#!/usr/bin/env bash
# Installs the Debian 12 packages hotpatch needs to build and test, and only those
# that are missing, so a second run costs one dpkg query. Called by the Makefile.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libelf-dev            # ElfImage: reading targets and patch files
  libdw-dev             # create: DWARF of the objects (line tables, type layouts, producer flags)
  libfmt-dev            # formatting in the CLI and loader
  libcapstone-dev       # which registers a function may clobber (arch/x86_64)
  libcli11-dev          # command line parsing
  libsodium-dev         # signed patches: Ed25519 and SHA-256 (docs/security.md)
  nlohmann-json3-dev    # --json output
  libgtest-dev          # unit tests
  libbenchmark-dev      # make bench
  patch                 # hotpatch create applies the diff to its work tree
  netcat-openbsd        # tests speak to the control socket as users do (nc -U)
  python3               # e2e helpers
  strace                # bad_input: a process another tracer holds is refused
  libgflags-dev         # examples/ and coop tests only: the runtime finds the process's own gflags
  libgoogle-glog-dev    # examples/ and coop tests only: likewise glog
  clang libclang-rt-14-dev  # libFuzzer for the control protocol fuzz test; e2e/create_compiler_paths builds with clang
  autoconf automake libtool  # e2e/create_autotools: an autotools + libtool project, made with autoreconf at test time
  libjemalloc2 libjemalloc-dev  # e2e/hostile_jemalloc: an interposed allocator, preloaded and linked in
  meson                      # e2e/create_meson: a Meson build directory in the tree, re-pointed at the copy
)

# `install-deps.sh deb` (make deb): what building and checking the packages needs on
# top of the build's own packages; not needed by make build or make test otherwise.
if [ "${1:-}" = deb ]; then
  packages+=(
    debhelper dpkg-dev    # dpkg-buildpackage, dh (compat 13)
    lintian               # make deb fails on lintian errors
  )
fi

# `install-deps.sh ansible`: the Ansible module's test (tests/e2e/pkg_ansible) runs
# the real ansible-playbook.
if [ "${1:-}" = ansible ]; then
  packages+=(ansible-core)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]} (run as root, or install them with apt-get)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# `make deb`: builds the .deb packages from debian/ with dpkg-buildpackage and checks
# them with lintian (fails on errors). Usage: scripts/make-deb.sh OUT_DIR
#
# dpkg-buildpackage builds inside the source tree and writes its results to the
# tree's parent directory, so it runs on a copy (OUT_DIR/src): the checkout stays
# clean and its parent gets nothing. The CMake build directory (OUT_DIR/obj) lives
# outside the copy and is kept, and the copy keeps the files' times, so a second
# `make deb` recompiles only what changed. Results: OUT_DIR/*.deb, *.changes,
# lintian.txt. DEB_BUILD_OPTIONS is honoured (e.g. "noopt noautodbgsym").
set -euo pipefail

out=${1:?usage: $0 OUT_DIR}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

# 1. The copy: the files git knows (tracked, or new and not ignored), as they are
# in the working tree; outside git, everything but build directories.
rm -rf "$out/src"
mkdir -p "$out/src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$root" && git ls-files -z -co --exclude-standard |
     while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
     tar --null -T - -cf -) | tar -C "$out/src" -xf -
else
  tar -C "$root" --exclude=./build --exclude='./build-*' --exclude=./obj-\* -cf - . | tar -C "$out/src" -xf -
fi

# 2. The commit `hotpatch --version` names (the copy has no .git).
commit=$(cd "$out" && cmake -DSOURCE_DIR="$root" -DOUT="$out/git_commit.h" -P "$root/cmake/scripts/git_commit.cmake" &&
         sed -n 's/^#define HOTPATCH_GIT_COMMIT "\(.*\)"$/\1/p' "$out/git_commit.h")

# 3. The build. -nc: no `debian/rules clean` first (it would delete the kept build
# directory; the copy is fresh anyway).
rm -f "$out"/*.deb "$out"/*.ddeb "$out"/*.changes "$out"/*.buildinfo
DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }parallel=${JOBS:-$(nproc)}"
export DEB_BUILD_OPTIONS
(cd "$out/src" && HOTPATCH_DEB_BUILDDIR="$out/obj" HOTPATCH_GIT_COMMIT="$commit" \
   dpkg-buildpackage -b -us -uc -nc) >"$out/build.log" 2>&1 || {
  tail -n 40 "$out/build.log" >&2
  echo "make deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
  exit 1
}

# 4. lintian: errors fail the build; warnings are listed (docs/packaging.md says which
# remain and why).
changes=$(ls "$out"/*.changes)
lintian --fail-on error --info --display-level '>=warning' "$changes" >"$out/lintian.txt" 2>&1 || {
  cat "$out/lintian.txt" >&2
  echo "make deb: lintian found errors" >&2
  exit 1
}
cat "$out/lintian.txt"
ls -1 "$out"/*.deb

#!/usr/bin/env bash
# Reproducers of the failures tests/real found on real servers, as small e2e cases
# (same lib.sh, same runner as tests/e2e). They check the RIGHT behaviour, so they fail
# while the failure they reproduce is there; that is why they live here and not under
# tests/e2e/ (which `make test` runs). Once one passes, move it to tests/e2e/.
#
#   bash tests/real/known.sh [BUILD_DIR] [CASE...]
#
# docs/real-world.md says which finding each case reproduces.
set -uo pipefail
build=$(realpath "${1:-build}")
shift || true
here=$(cd "$(dirname "$0")" && pwd)
export HOTPATCH="$build/hotpatch" HOTPATCH_RUNTIME="$build/libhotpatch.so" HOTPATCH_INCLUDE="$here/../../include"
cases=("$@")
[ ${#cases[@]} -gt 0 ] || mapfile -t cases < <(cd "$here/known" && ls)
passed=0 failed=0 names=()
for c in "${cases[@]}"; do
  if bash "$here/../e2e/run-case.sh" "$here/known/$c"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)) names+=("$c")
  fi
done
[ $failed = 0 ] || echo "still failing: ${names[*]}"
echo "$passed passed, $failed failed"
exit $((failed > 0))

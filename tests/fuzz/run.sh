#!/usr/bin/env bash
# `make fuzz`: each libFuzzer target (cmake/fuzz.cmake) fuzzed for FUZZ_SECONDS
# (default 60), one after the other, new inputs kept in build/fuzz/NAME.corpus (which
# `make test` then replays). A crash, leak, timeout or sanitizer report stops that
# fuzzer; its input is saved as build/fuzz/NAME-crash-* and the run exits non-zero.
#
#   bash tests/fuzz/run.sh [BUILD_DIR]     FUZZ_SECONDS=600 FUZZ_ONLY="registry maps"
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SECONDS_EACH=${FUZZ_SECONDS:-60}
targets=$BUILD/fuzz/targets.txt
[ -s "$targets" ] || { echo "fuzz: no fuzzers in $BUILD (clang++ missing?)" >&2; exit 2; }
failed=0
while IFS='|' read -r name bin args seeds; do
  [ -n "$name" ] || continue
  if [ -n "${FUZZ_ONLY:-}" ] && [[ " $FUZZ_ONLY " != *" $name "* ]]; then continue; fi
  mkdir -p "$BUILD/fuzz/$name.corpus"
  existing=()
  for d in $seeds; do [ -d "$d" ] && existing+=("$d"); done
  log=$BUILD/fuzz/$name.log
  # shellcheck disable=SC2086
  if "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 $args \
      -artifact_prefix="$BUILD/fuzz/$name-" "$BUILD/fuzz/$name.corpus" "${existing[@]}" >"$log" 2>&1; then
    echo "fuzz: $name: $(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1), no failure; corpus $(ls "$BUILD/fuzz/$name.corpus" | wc -l) inputs"
  else
    failed=1
    echo "fuzz: $name: FAILED, see $log and $(ls "$BUILD"/fuzz/"$name"-* 2>/dev/null | tr '\n' ' ')" >&2
    grep -E 'ERROR|runtime error|SUMMARY' "$log" | head -n 5 >&2 || true
  fi
done <"$targets"
exit "$failed"

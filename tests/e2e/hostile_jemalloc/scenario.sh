# An interposed allocator (issue 11, item 1): jemalloc provides `malloc` for the
# whole process, the dynamic loader's dlopen included, and every thread (the main
# one too) allocates and frees in a loop. A remote dlopen on a thread stopped
# inside jemalloc, holding one of its locks, waits for that thread forever. Both
# ways a program gets jemalloc: preloaded (LD_PRELOAD=libjemalloc.so.2) and linked
# in statically (libjemalloc_pic.a, so the allocator is part of the program).
# JEMALLOC_CYCLES apply/revert cycles each (make test: 10; make stress: 200); any
# hang fails the case (the CLI's own timeout: HP_TIMEOUT).
jemalloc_so=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
jemalloc_a=/usr/lib/x86_64-linux-gnu/libjemalloc_pic.a
[ -f "$jemalloc_so" ] && [ -f "$jemalloc_a" ] || fail "jemalloc is not installed (Debian: libjemalloc2, libjemalloc-dev)"
build_target target_dyn "$CASE_DIR/target.c"
build_target target_static "$CASE_DIR/target.c" "$jemalloc_a" -lm -ldl
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"
readelf --dyn-syms -W target_static | grep -qE ' FUNC +GLOBAL +DEFAULT +[0-9]+ malloc$' ||
  fail "target_static does not export its own malloc: the test would not test anything"
cycles=${JEMALLOC_CYCLES:-10}
export HP_TIMEOUT=${HP_TIMEOUT:-60}

for kind in preloaded static; do
  step "$kind jemalloc: $cycles apply/revert cycles, every thread allocating"
  if [ "$kind" = preloaded ]; then
    start_target "$kind" env LD_PRELOAD="$jemalloc_so" ./target_dyn
  else
    start_target "$kind" ./target_static
  fi
  wait_for_log "$kind" '^ready pid='
  pid=$(sed -n 's/^ready pid=//p' "$WORK/$kind.log")
  if [ "$kind" = preloaded ]; then
    grep -q libjemalloc "/proc/$pid/maps" || fail "libjemalloc is not mapped in process $pid"
  fi
  wait_for_log "$kind" '^compute=21$'
  start=$SECONDS
  for ((i = 1; i <= cycles; i++)); do
    run_cmd hp -p "$pid" apply patch.so
    [ "$LAST_RC" -eq 0 ] || { _show_run hp -p "$pid" apply patch.so; fail "$kind: apply $i failed"; }
    [ "$i" -eq 1 ] && wait_for_log "$kind" '^compute=70$'
    run_cmd hp -p "$pid" revert fix-compute
    [ "$LAST_RC" -eq 0 ] || { _show_run hp -p "$pid" revert fix-compute; fail "$kind: revert $i failed"; }
  done
  wait_for_log "$kind" '^compute=21$'
  note "$kind: $cycles cycles in $((SECONDS - start)) s"
  finish_target "$kind"
done
echo "SUMMARY hostile_jemalloc: $cycles apply/revert cycles each with preloaded and static jemalloc, no hang"

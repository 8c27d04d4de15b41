# Shadow variables (docs/creator.md#shadow-variables): a patch attaches a new field
# to each of 64 existing `struct conn` (which it cannot grow) while 8 threads call
# the patched function on them. Every shadow belongs to its own connection (the
# patch checks a back pointer), `list` counts them, revert frees them all, and a
# second apply starts from fresh, zeroed shadows.
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"
# A hand-written patch links with the runtime's functions left undefined; they bind
# to libhotpatch.so's exports inside the process.
nm -D --undefined-only patch.so | grep -q ' hotpatch_shadow_get_or_alloc$' ||
  fail "the patch should leave hotpatch_shadow_get_or_alloc to the runtime"
nm -D --defined-only "$HOTPATCH_RUNTIME" | grep -Eq ' T hotpatch_shadow_get_or_alloc$' ||
  fail "libhotpatch.so does not export hotpatch_shadow_get_or_alloc"
expect_success hp info patch.so
assert_match '^  shadow variables: id 0x5354415453 \(CONN_STATS\)$' "$LAST_OUT" "info: the declared id"

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'
wait_for_log t '^report requests=[0-9]+$'

# handled=N on the latest report line of the log.
handled_now() { last_match t '^report requests=.* handled=' | sed -nE 's/.* handled=([0-9]+) .*/\1/p'; }

step "apply: every connection gets its shadow"
apply_ok "$pid" patch.so shadow-fix
wait_for_log t '^report requests=[0-9]+ shadows=64 handled=[0-9]+ count=64$' 5
expect_output t '^(report requests=[0-9]+ shadows=64 handled=[0-9]+ count=64|returns v1=[0-9]+ v2=[0-9]+)$' 6
h1=$(handled_now)
nap 1
h2=$(handled_now)
[ "$h2" -gt "$h1" ] || fail "the shadows' counters do not grow: $h1 then $h2"
expect_success hp -p "$pid" list
assert_match '^shadow variables: 64 live \(1024 bytes\)$' "$LAST_OUT" "list counts the shadows"
expect_success hp -p "$pid" --json list
assert_match '"shadow":\{"bytes":1024,"live":64\}' "$LAST_OUT" "list --json counts the shadows"

step "revert frees them"
nap 0.5
before=$(handled_now)
revert_ok "$pid" shadow-fix
wait_for_log t '^report requests=[0-9]+$' 2
expect_output t '^(report requests=[0-9]+|returns v1=[0-9]+ v2=[0-9]+)$' 4
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after the revert (no shadow variable left)"
expect_success hp -p "$pid" --json list
assert_match '"shadow":\{"bytes":0,"live":0\}' "$LAST_OUT" "list --json after the revert"

step "apply again: fresh shadows, the old counts are gone"
apply_ok "$pid" patch.so shadow-fix
mark_log t
wait_for_log t '^report requests=[0-9]+ shadows=64 handled=[0-9]+ count=64$' 5
again=$(handled_now)
[ "$again" -lt "$before" ] || fail "after revert and a new apply, handled=$again; before the revert it was $before (old shadows kept?)"
note "handled before the revert: $before; first report after the new apply: $again"

step "a revert killed inside its stop: the next command finishes it and frees the shadows"
kill_at revert:jump-1-restored -p "$pid" revert shadow-fix
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after the killed revert (finished, shadows freed)"
assert_match "finished reverting 'shadow-fix'" "$LAST_ERR" "list finishes the killed revert"
mark_log t
wait_for_log t '^report requests=[0-9]+$' 2
finish_target t

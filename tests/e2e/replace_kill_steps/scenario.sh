# apply --replace killed at every step (the idea of kill_every_step, for a replace):
# the target runs cumulative patch series-1; `apply --replace series-1 patch2.so` is
# SIGKILLed at each step it passes (learnt from a plain run with
# HOTPATCH_TEST_STEPS=list). After each kill, `list` (which finishes what the killed
# CLI left) must show series-1 fully applied or series-2 fully applied, the target
# must behave accordingly, and alpha — replaced by both — must never have answered
# its original code since series-1 went in: no unpatched window, killed or not.
# Target and patches: those of replace_cumulative.
SRC=$CASE_DIR/../replace_cumulative
build_target target "$SRC/target.c"
build_patch patch1.so "$SRC/patch1.c"
build_patch patch2.so "$SRC/patch2.c"
kill_steps=${KILL_STEPS:-short}

# A killed command may leave a patch loaded, and a dlopen of a loaded file makes no
# system call, so a later run would skip steps inside it: fresh copies (same ids).
copies=0
fresh() {
  copies=$((copies + 1))
  cp patch1.so "p1-$copies.so"
  cp patch2.so "p2-$copies.so"
  P1=p1-$copies.so
  P2=p2-$copies.so
}
count() { last_match t '^now ' | sed -nE "s/.* $1=([0-9]+)( .*)?\$/\\1/p"; }
settled() {
  mark_log t
  wait_for_log t "$1" 5
  expect_output t "$1" 2
}

start_target t ./target
pid=$LAST_PID
wait_for_log t '^ready'

step "learn the steps of a replace"
fresh
expect_success hp -p "$pid" apply "$P1"
steps_of -p "$pid" apply --replace series-1 "$P2"
printf '%s\n' "$STEPS" >replace.steps
if [ "$kill_steps" != all ]; then
  grep -Ev ':call-[0-9]+-[a-z_]+:(started|returning)$' replace.steps >short.steps || true
  mv short.steps replace.steps
fi
for s in apply:world-stopped apply:journal-written apply:jump-1-written apply:jump-2-written apply:committed \
  apply:released apply:disposed; do
  grep -qx "$s" replace.steps || fail "apply --replace passes no step '$s'"
done
# beta gets its original bytes back in a write of its own; alpha goes from series-1's
# jump to series-2's in one write, with no restore of its original bytes before.
[ "$(grep -c -- '-restored$' replace.steps)" = 1 ] || fail "apply --replace should restore exactly one entry (beta's)"
note "$(wc -l <replace.steps) steps: $(tr '\n' ' ' <replace.steps)"
expect_success hp -p "$pid" revert --all

while read -r s; do
  step "kill at $s"
  fresh
  expect_success hp -p "$pid" apply "$P1"
  settled '^now alpha=1 beta=1 gamma=0 '
  alpha0=$(count alpha0)
  kill_at "$s" -p "$pid" apply --replace series-1 "$P2"
  expect_alive "$pid"
  expect_success hp -p "$pid" list
  assert_no_match 'INTERRUPTED' "$LAST_OUT" "list after a kill at $s"
  listed=$(grep -oE '^series-[0-9]+' <<<"$LAST_OUT" | paste -sd' ')
  case $listed in
    series-1) settled '^now alpha=1 beta=1 gamma=0 ' ;;
    series-2) settled '^now alpha=2 beta=0 gamma=2 ' ;;
    *) fail "after a kill at $s, list shows '$listed' (want series-1 or series-2 alone):
$LAST_OUT" ;;
  esac
  assert_eq "$alpha0" "$(count alpha0)" "calls of alpha that got its original code (kill at $s)"
  note "killed at $s: $listed applied, alpha never unpatched"
  expect_success hp -p "$pid" revert --all
  settled '^now alpha=0 beta=0 gamma=0 '
done <replace.steps
finish_target t

# SIGKILL the CLI at every step of apply and of revert (issue 5, "Kill").
#
# The steps are not hard-coded: one plain run of each command with
# HOTPATCH_TEST_STEPS=list prints the steps it passes, then for each one the command
# is run again with HOTPATCH_TEST_STOP_AT=STEP, which stops the CLI there, and the
# CLI is killed with SIGKILL. After every kill:
#   - the target is alive, untraced, and none of its threads saw a wrong result
#     (its own checks: see target.c);
#   - `list` shows the patch fully applied (and the target behaves patched) or not
#     at all (and it behaves unpatched) -- list finishes what the killed CLI left
#     half done;
#   - `revert --all` succeeds and the target behaves unpatched.
# Covered: the very first apply while it injects the runtime (a fresh target per
# step), then every step of an apply and of a revert. At the end a normal apply and revert still work.
#
# Knobs: KILL_ROUNDS=N (default 1) repeats every step N times; KILL_STEPS=all
# (the default when KILL_ROUNDS > 1) kills at all three points of each remote call
# (:started, :inside, :returning), KILL_STEPS=short (the default in `make test`) at
# :inside only -- the thread is then in the middle of the call, as at :started, and
# it has yet to reach its rt_sigreturn, as at :returning. The long run is
# `KILL_ROUNDS=20` (docs/design.md).
build_target target "$CASE_DIR/target.c"
build_patch patch.so "$CASE_DIR/patch.c"
rounds=${KILL_ROUNDS:-1}
if [ "$rounds" -gt 1 ]; then kill_steps=${KILL_STEPS:-all}; else kill_steps=${KILL_STEPS:-short}; fi
case $kill_steps in all | short) ;; *) fail "KILL_STEPS must be 'all' or 'short', not '$kill_steps'" ;; esac

# A killed apply may leave the patch loaded (a dlopen finishes after the kill), and
# dlopen of a loaded file does no system call, so a later run would skip the step
# inside it: each run gets a copy of the patch of its own (same id).
copies=0
fresh_patch() {
  copies=$((copies + 1))
  cp patch.so "patch-$copies.so"
  PATCH="patch-$copies.so"
}

# steps_into OUTFILE ARGS...: OUTFILE gets the steps `hp ARGS` passes (steps_of), one
# per line, in order; none at all is a failure.
steps_into() {
  local out=$1
  shift
  steps_of "$@"
  [ -n "$STEPS" ] || fail "HOTPATCH_TEST_STEPS=list printed no step for: $*"
  printf '%s\n' "$STEPS" >"$out"
}

# alive_untraced PID: alive, and nobody ptraces it any more.
alive_untraced() { expect_alive "$1"; }

# behaves NAME VERSION: the target's threads now see version VERSION of both
# functions (1: unpatched, 2: patched), in the lines it prints from now on.
behaves() {
  local name=$1 version=$2
  mark_log "$name"
  wait_for_log "$name" "^tick [0-9]+ alpha=$version beta=$version " 5
  expect_output "$name" "^tick [0-9]+ alpha=$version beta=$version " 2 5
}

# check_after_kill NAME PID WHAT: the checks listed at the top, after a kill.
check_after_kill() {
  local name=$1 pid=$2 what=$3 state
  alive_untraced "$pid"
  expect_log_lacks "$name" '^BAD'
  expect_success hp -p "$pid" list
  assert_no_match 'INTERRUPTED' "$LAST_OUT" "list after a kill at $what"
  if [ "$(patches_listed "$LAST_OUT")" = "no patches applied" ]; then
    state=absent
    behaves "$name" 1
  else
    state=applied
    assert_match '^kill-fix +applied ' "$LAST_OUT" "list after a kill at $what"
    assert_match '^  alpha \(0x[0-9a-f]+\) -> alpha_v2 ' "$LAST_OUT" "list: alpha after a kill at $what"
    assert_match '^  beta \(0x[0-9a-f]+\) -> beta_v2 ' "$LAST_OUT" "list: beta after a kill at $what"
    behaves "$name" 2
  fi
  run_cmd hp -p "$pid" revert --all
  [ "$LAST_RC" -eq 0 ] || { _show_run hp -p "$pid" revert --all; fail "revert --all after a kill at $what"; }
  if [ $state = applied ]; then
    assert_match '^reverted kill-fix: 2 functions' "$LAST_OUT" "revert --all after a kill at $what"
  else
    assert_eq "nothing to revert" "$LAST_OUT" "revert --all after a kill at $what"
  fi
  behaves "$name" 1
  alive_untraced "$pid"
  expect_log_lacks "$name" '^BAD'
  note "killed at $what: the patch was $state; revert --all cleaned up"
}

step "learn the steps"
start_target learn ./target
learn_pid=$LAST_PID
wait_for_log learn '^ready'
steps_into first_apply.steps -p "$learn_pid" apply patch.so
behaves learn 2
steps_into revert.steps -p "$learn_pid" revert kill-fix
behaves learn 1
# A file the target maps already (patch.so's reverted copy stays mapped) would be
# loaded from a memfd; the kills below use a fresh file each: learn with one too.
fresh_patch
steps_into apply.steps -p "$learn_pid" apply "$PATCH"
expect_success hp -p "$learn_pid" revert kill-fix
stop_target learn
# The first apply differs from later ones until the runtime is in: its steps up to
# the end of its first dlopen (libhotpatch.so's) run on a fresh target each; the
# rest of it is what every apply does, tested on one target below.
sed -n '1,/^apply:call-[0-9]*-dlopen:returning$/p' first_apply.steps >injection.steps
if [ "$kill_steps" = short ]; then
  for f in injection apply revert; do
    grep -Ev ':call-[0-9]+-[a-z_]+:(started|returning)$' $f.steps >$f.short || true
    mv $f.short $f.steps
  done
fi
for f in first_apply injection apply revert; do note "$f: $(wc -l <$f.steps) steps: $(tr '\n' ' ' <$f.steps)"; done
# The steps the issue names are among them.
for s in apply:thread-seized apply:loaded apply:world-stopped apply:journal-written apply:jump-1-written \
  apply:jump-2-written apply:committed apply:released; do
  grep -qx "$s" apply.steps || fail "apply passes no step '$s'"
done
grep -q '^apply:call-[0-9]*-dlopen:inside$' apply.steps || fail "apply passes no step inside the patch's dlopen"
[ "$(grep -c '^apply:call-[0-9]*-dlopen:inside$' first_apply.steps)" -eq 2 ] ||
  fail "the first apply should pass inside two dlopens (the runtime's, the patch's)"
for s in revert:world-stopped revert:journal-written revert:jump-1-restored revert:jump-2-restored \
  revert:committed revert:released revert:disposed; do
  grep -qx "$s" revert.steps || fail "revert passes no step '$s'"
done
# A revert keeps the patch's code mapped (the program may hold pointers into it).
grep -q '^revert:call-[0-9]*-dlclose:' revert.steps && fail "revert calls dlclose: the patch's code must stay mapped"

n=0
for ((round = 1; round <= rounds; round++)); do
  step "round $round/$rounds: the first apply until the runtime is in, a fresh target per step"
  while read -r s; do
    n=$((n + 1))
    start_target "first$n" ./target
    pid=$LAST_PID
    wait_for_log "first$n" '^ready'
    fresh_patch
    kill_at "$s" -p "$pid" apply "$PATCH"
    check_after_kill "first$n" "$pid" "$s"
    stop_target "first$n"
  done <injection.steps

  step "round $round/$rounds: later applies and reverts, one target"
  start_target "t$round" ./target
  pid=$LAST_PID
  wait_for_log "t$round" '^ready'
  expect_success hp -p "$pid" apply patch.so
  expect_success hp -p "$pid" revert kill-fix
  while read -r s; do
    fresh_patch
    kill_at "$s" -p "$pid" apply "$PATCH"
    check_after_kill "t$round" "$pid" "$s"
  done <apply.steps
  while read -r s; do
    fresh_patch
    expect_success hp -p "$pid" apply "$PATCH"
    behaves "t$round" 2
    kill_at "$s" -p "$pid" revert kill-fix
    check_after_kill "t$round" "$pid" "$s"
  done <revert.steps

  step "round $round/$rounds: a normal apply and revert still work"
  apply_ok "$pid" patch.so kill-fix
  behaves "t$round" 2
  revert_ok "$pid" kill-fix
  behaves "t$round" 1
  finish_target "t$round"
done

# The --work cache is transactional: a create that fails or is refused halfway (a
# diff that does not apply, a build that breaks, a refusal after the Makefile
# changed and a file with a constructor was added, Ctrl-C during the build) leaves the cache exactly
# as it found it, and the next create on it makes the same patch as before. A cache
# made for another state of the tree is made again.
cp -r "$CASE_DIR/../create_basic/project" src
(cd src && make -s) >build.log 2>&1 || { cat build.log >&2; fail "building the project failed"; }
# One build command for every create (it is part of what the cache is for); it
# sleeps when the tree has a file `slow-build` (slow.diff adds one).
build='make -s && { [ ! -e slow-build ] || sleep 60; }'
create() { hp create --src src --binary app --work work --build "$build" "$@"; }
# The cache as files: names, types, sizes, modification times, and the state.
cache() {
  (cd work && find tree base records ! -path 'records/patched*' ! -type d -printf '%p %y %s %T@\n' | sort &&
    cat state.json) | md5sum
}
info_of() { hp info "$1" | grep -v -e file: -e '^patch '; }

step "a good create makes the cache"
expect_success create --diff "$CASE_DIR/../create_basic/fix.diff" -o good1.so --id fix
before=$(cache)
assert_no_match 'built once more' "$LAST_OUT" "no noise build for a tree without noise"
grep -q 'again (to find build noise)' work/build.log && fail "the unchanged tree was built twice"

step "a work directory inside the source tree: refused"
expect_fail 2 'inside --src' hp create --src src --binary app --work src/.work --build "$build" \
  --diff "$CASE_DIR/../create_basic/fix.diff" -o inside.so
[ ! -e src/.work ] || fail "create wrote into the source tree"

step "a diff that does not apply"
expect_fail 2 'does not apply' create --diff "$CASE_DIR/bad.diff" -o bad.so
assert_eq "$before" "$(cache)" "the cache after a diff that does not apply"

step "a fix that breaks the build"
expect_fail 2 'building the patched tree .* failed' create --diff "$CASE_DIR/broken.diff" -o broken.so
assert_eq "$before" "$(cache)" "the cache after a broken build"

step "a fix that changes the Makefile and adds a source file (refused)"
expect_fail 5 'cannot make a live patch' create --diff "$CASE_DIR/new_file.diff" -o new.so
assert_match '^new file: extra\.o$' "$LAST_OUT" "the new file, compiled and compared"
assert_match '^refused: set_ready \(extra\.c\): a new constructor' "$LAST_OUT" "the refusal"
assert_eq "$before" "$(cache)" "the cache after a refusal"

step "Ctrl-C while the patched tree builds"
# (started the way a shell starts a command in the foreground: SIGINT not ignored)
python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
  "$HOTPATCH" create --src src --binary app --work work --build "$build" --diff "$CASE_DIR/slow.diff" -o slow.so \
  >slow.out 2>&1 </dev/null &
slow=$!
_deadline 60
end=$_DEADLINE
# the build's sleep: a `sleep` whose working directory is the work tree
sleeping() {
  local p
  for p in $(pgrep -x sleep); do [ "$(readlink "/proc/$p/cwd")" = "$(realpath work/tree)" ] && return 0; done
  return 1
}
until sleeping; do
  _past "$end" && fail "the slow build did not start"
  nap 0.05
done
step "a second create on the same --work while the first runs: refused"
expect_fail 2 'another hotpatch create is using it' create --diff "$CASE_DIR/../create_basic/fix.diff" -o second.so
kill -INT "$slow"
rc=0
wait "$slow" || rc=$?
assert_eq 130 "$rc" "create's exit status after Ctrl-C (killed by SIGINT)"
[ ! -e slow.so ] || fail "an interrupted create wrote a patch"
assert_eq "$before" "$(cache)" "the cache after Ctrl-C"

step "the next create on the same --work makes the same patch as the first"
expect_success create --diff "$CASE_DIR/../create_basic/fix.diff" -o good2.so --id fix --json
python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["rebuilt_from_scratch"])' <<<"$LAST_OUT" ||
  fail "the cache was made again: it should have been reused"
cmp -s <(info_of good1.so) <(info_of good2.so) || fail "the patch differs from the first one"
assert_eq "$before" "$(cache)" "the cache after a good create"

step "the user's tree changes: the cache is made again"
echo '/* a comment */' >>src/calc.c
(cd src && make -s) >>build.log 2>&1
expect_success create --diff "$CASE_DIR/../create_basic/fix.diff" -o good3.so --id fix
assert_match '^note: the work directory was made for another state of the tree or another build of app; made again$' \
  "$LAST_OUT" "the note"
cmp -s <(info_of good1.so) <(info_of good3.so) || fail "the patch differs from the first one"

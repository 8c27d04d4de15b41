# hotpatch create on a small Makefile project: the diff changes compute() (a new
# static helper, a libc call, a static variable whose state must continue). The
# patch is made from the tree the program was built from, applied to the running
# program (built plainly, without any flag of ours), and reverted.
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"
tree_before=$(cd src && find . -type f -newer Makefile -o -type f -print | sort | xargs md5sum)

step "create"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id fix-compute
assert_match '^changed: compute \(calc\.c\)$' "$LAST_OUT" "report names the changed function"
assert_match '^wrote .*/fix\.so: 1 function for build-id [0-9a-f]{40}' "$LAST_OUT" "report names the output"
[ -f fix.so ] || fail "no patch written"
assert_eq "$tree_before" "$(cd src && find . -type f -newer Makefile -o -type f -print | sort | xargs md5sum)" \
  "the source tree (create must not write into it)"
expect_success hp info fix.so
assert_match "^  requires build-id: $(readelf -n src/app | sed -nE 's/.*Build ID: ([0-9a-f]+)/\1/p')$" "$LAST_OUT" \
  "the patch is pinned to the program's build-id"
assert_match '^  replaces: compute -> compute\.hotpatch' "$LAST_OUT" "info: replaced function"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^compute\(7\)=21 calls=[0-9]+$'

step "apply"
apply_ok "$pid" fix.so fix-compute
# A C program has no unwinder loaded (libgcc_s): the patch's unwind table is not
# registered, and apply says so rather than failing.
assert_match '^note: the process has no unwinder loaded \(libgcc_s\.so\.1\)' "$LAST_OUT" "apply: the note on unwind tables"
wait_for_log t '^compute\(7\)=121 calls=[0-9]+$' 2
before=$(last_match t '^compute\(7\)=21 calls=' | sed -E 's/.*calls=//')
first=$(grep -E '^compute\(7\)=121 calls=' "$WORK/t.log" | head -n 1 | sed -E 's/.*calls=//')
# The static counter continues: the patched code adds 10 to the running value.
[ "$first" -gt "$before" ] && [ $((first - before)) -le 20 ] ||
  fail "calls went from $before to $first: the patch did not continue the program's own counter"
wait_for_log t '^fixed compute\(7\)$' 2

step "revert"
revert_ok "$pid" fix-compute
wait_for_log t '^compute\(7\)=21 calls=[0-9]+$' 2
finish_target t '^BAD'

step "the same diff, with a kept work directory (second run reuses the build)"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix2.so --work work
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix3.so --work work
cmp -s <(hp info fix2.so | grep -v -e file: -e '^patch ') <(hp info fix3.so | grep -v -e file: -e '^patch ') || fail "reused work dir gives a different patch"

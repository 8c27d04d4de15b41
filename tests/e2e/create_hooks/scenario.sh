# create --hooks (docs/creator.md#hook-files): a fix that needs a field `struct conn`
# does not have. The diff's code keeps it in a shadow variable (calling the runtime
# directly, declared weak so the program still links); the hook file declares the
# shadow id, refers to the program's variables, and has callbacks that report, at
# their point, what handle() answers. The hook file includes the project's header,
# which it finds, and reads with the project's layout, through the flags create
# takes from the compile of conn.o (-Iinclude -DCONN_TAGGED).
cp -r "$CASE_DIR/project" src
(cd src && make -s) || fail "building the project failed"

step "create with a hook file"
expect_success hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o fix.so --id conn-fix \
  --hooks "$CASE_DIR/hooks.c" --hooks-cflags "-Wall -Werror"
assert_match '^changed: handle \(conn\.c\)$' "$LAST_OUT" "create: the changed function"
assert_match 'the hook file is compiled with the header flags of conn\.o: -Iinclude -DCONN_TAGGED' "$LAST_OUT$LAST_ERR" \
  "create: the project's flags for the hook file"
for h in 'pre-apply callback pre_apply' 'post-apply callback post_apply' 'pre-revert callback pre_revert' \
  'post-revert callback post_revert' 'shadow variables 0x5345454e \(CONN_SEEN\)'; do
  assert_match "^hook: $h\$" "$LAST_OUT" "create: what the hook file put in"
done
expect_success hp info fix.so
assert_match '^  loaded: near the target' "$LAST_OUT" "info: a created patch is linked near"
assert_match '^  target reference: hotpatch_shadow_get_or_alloc ' "$LAST_OUT" "info: the fix calls the runtime"
assert_match '^  shadow variables: id 0x5345454e \(CONN_SEEN\)$' "$LAST_OUT" "info: the shadow id"

step "a hook file with a constructor is refused"
cat >ctor-hooks.c <<'C'
#include <hotpatch/patch.h>
volatile int initialised;
__attribute__((constructor)) static void init(void) { initialised = 1; }
C
expect_fail 2 'ctor-hooks.c: has a constructor or destructor' \
  hp create --src src --diff "$CASE_DIR/fix.diff" --binary app -o bad.so --hooks ctor-hooks.c
[ ! -e bad.so ] || fail "a patch was written despite the refusal"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^ready'
wait_for_log t '^returns v1=[0-9]+ first=0 again=0$'

step "apply: the callbacks run at their points, the fix counts per connection"
apply_ok "$pid" fix.so conn-fix
wait_for_log t '^hook pre-apply: handle answers 1, conns\[0\]->fd=100$' 2
wait_for_log t '^hook post-apply: handle answers 2, conns\[0\]->fd=100$' 2
# Each of the 32 connections answers 2 once (its shadow is new), then 3.
wait_for_log t '^returns v1=[0-9]+ first=32 again=[1-9][0-9]*$' 5
expect_success hp -p "$pid" list
assert_match '^shadow variables: 33 live \(264 bytes\)$' "$LAST_OUT" "list: 32 connections and the hooks' probe"

step "revert: the shadows are freed after post-revert"
revert_ok "$pid" conn-fix
wait_for_log t '^hook pre-revert: handle answers 3, conns\[0\]->fd=100$' 2
wait_for_log t '^hook post-revert: handle answers 1, conns\[0\]->fd=100$' 2
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "list after the revert (no shadow variable left)"
finish_target t

# hotpatch create on a Meson project configured the usual way (a build directory in
# the tree, the compiler by absolute path). The fix also changes meson.build (the
# version, as a fix release does): ninja regenerates the build directory, and the
# copied one names the user's tree in its regenerate rule, so without re-pointing
# it at the copy ninja regenerated the USER's build directory and then looped
# ("manifest 'build.ninja' still dirty"). create_basic's sources and fix, then
# version.diff.
command -v meson >/dev/null || fail "meson is missing (scripts/install-deps.sh installs it)"
mkdir src
cp "$CASE_DIR/../create_basic/project/"{calc.c,calc.h,main.c} "$CASE_DIR/meson.build" src/
{ CC="$(realpath "$(command -v gcc)")" meson setup src/build src && ninja -C src/build; } >meson.log 2>&1 ||
  { cat meson.log >&2; fail "configuring and building the Meson project failed"; }
# The user's build directory as files: names, sizes, modification times.
build_dir_state() { (cd src/build && find . -type f -printf '%p %s %T@\n' | sort); }
before=$(build_dir_state)

step "create"
expect_success hp create --src src --diff "$CASE_DIR/../create_basic/fix.diff" --diff "$CASE_DIR/version.diff" \
  --build "ninja -C build" --binary build/app -o fix.so --id fix-meson
assert_match '^changed: compute \(calc\.c\)$' "$LAST_OUT" "report names the changed function"
assert_eq "$before" "$(build_dir_state)" "the user's Meson build directory (create must not write into it)"

start_target t ./src/build/app
pid=$LAST_PID
wait_for_log t '^compute\(7\)=21 calls=[0-9]+$'

step "apply"
apply_ok "$pid" fix.so fix-meson
wait_for_log t '^compute\(7\)=121 calls=[0-9]+$' 2
wait_for_log t '^fixed compute\(7\)$' 2

step "revert"
revert_ok "$pid" fix-meson
wait_for_log t '^compute\(7\)=21 calls=[0-9]+$' 2
finish_target t '^BAD'

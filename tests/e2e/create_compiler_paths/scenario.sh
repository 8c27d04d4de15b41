# hotpatch create catches the compiler however the project names it: by absolute
# path (make CC=/usr/bin/gcc, what CMake and Meson build dirs do), through a
# symbolic link with a name of its own, and clang. Without one section per
# function, the fixed compute()'s call to the new static offset() (not inlined)
# carries no relocation and the patch would call garbage; here the patch must
# apply and compute right. An object whose functions still share a section (a
# section attribute in the source) is refused, naming the object and the command
# that built it. create_basic's project.

# create_and_apply NAME CC: builds a copy of the project with CC, makes the patch
# with the same CC on the command line, applies it to the program and reverts it.
create_and_apply() {
  local name=$1 cc=$2 pid
  cp -r "$CASE_DIR/../create_basic/project" "$name"
  (cd "$name" && make -s CC="$cc") >"$name.build.log" 2>&1 || { cat "$name.build.log" >&2; fail "building $name with CC=$cc failed"; }
  step "$name: create --build 'make CC=$cc'"
  expect_success hp create --src "$name" --diff "$CASE_DIR/calls.diff" --build "make CC=$cc" \
    --binary app -o "$name.so" --id "fix-$name"
  assert_match '^changed: compute \(calc\.c\)$' "$LAST_OUT" "report names the changed function"
  start_target "$name" "./$name/app"
  pid=$LAST_PID
  wait_for_log "$name" '^compute\(7\)=21 calls=[0-9]+$'
  apply_ok "$pid" "$name.so" "fix-$name"
  # compute(7) = scale(7) + offset(7) = 21 + 100: the call lands where it should.
  wait_for_log "$name" '^compute\(7\)=121 calls=[0-9]+$' 2
  expect_output "$name" '^compute\(7\)=121 calls=[0-9]+$' 3
  revert_ok "$pid" "fix-$name"
  wait_for_log "$name" '^compute\(7\)=21 calls=[0-9]+$' 2
  finish_target "$name" '^BAD'
}

create_and_apply abs_gcc "$(realpath "$(command -v gcc)")"

# A link whose own name says nothing (not cc, not gcc): caught for what it is.
mkdir tools
ln -s "$(command -v gcc)" tools/mycc
create_and_apply symlinked "$WORK/tools/mycc"

if command -v clang >/dev/null; then
  create_and_apply clang clang
else
  note "clang is not installed: the clang step is skipped"
fi

step "functions that share a section in the source: refused, naming the object and command"
cp -r "$CASE_DIR/../create_basic/project" shared
cp "$CASE_DIR/sections/calc.c" shared/calc.c
(cd shared && make -s) >shared.build.log 2>&1 || { cat shared.build.log >&2; fail "building the shared-section project failed"; }
expect_fail 5 'cannot make a live patch' hp create --src shared --diff "$CASE_DIR/sections/fix.diff" --binary app -o shared.so
assert_match '^refused: calc\.o: functions (compute and scale|scale and compute) share section \.text\.hot_calc.*command: cd .* && cc .*-c -o calc\.o calc\.c' \
  "$LAST_OUT" "the refusal names the object, the section and the command"
[ ! -e shared.so ] || fail "a refused create wrote a patch"

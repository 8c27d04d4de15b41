# hotpatch create on a CMake project configured the usual way, with the compiler
# named by absolute path (CMAKE_C_COMPILER=/usr/bin/gcc, as toolchain files and IDEs
# do): wrappers first in PATH cannot reach it, and the copied build directory names
# the original tree. create re-points the copy's build directory at the copy and
# compiles through a launcher that adds its flags. create_basic's sources and diff.
mkdir src
cp "$CASE_DIR/../create_basic/project/"{calc.c,calc.h,main.c} "$CASE_DIR/CMakeLists.txt" src/
gcc_path=$(realpath "$(command -v gcc)")
{ cmake -S src -B src/build -DCMAKE_C_COMPILER="$gcc_path" && cmake --build src/build; } >cmake.log 2>&1 ||
  { cat cmake.log >&2; fail "configuring and building the CMake project failed"; }
grep -qE "^CMAKE_C_COMPILER:[A-Z]+=/" src/build/CMakeCache.txt ||
  fail "the CMake cache does not name the compiler by absolute path; the case tests nothing"
cache_before=$(md5sum <src/build/CMakeCache.txt)

step "create"
expect_success hp create --src src --diff "$CASE_DIR/../create_basic/fix.diff" --build "cmake --build build" \
  --binary build/app -o fix.so --id fix-cmake
assert_match '^changed: compute \(calc\.c\)$' "$LAST_OUT" "report names the changed function"
assert_eq "$cache_before" "$(md5sum <src/build/CMakeCache.txt)" "the user's CMake cache (create must not write into it)"

start_target t ./src/build/app
pid=$LAST_PID
wait_for_log t '^compute\(7\)=21 calls=[0-9]+$'

step "apply"
apply_ok "$pid" fix.so fix-cmake
wait_for_log t '^compute\(7\)=121 calls=[0-9]+$' 2
wait_for_log t '^fixed compute\(7\)$' 2

step "revert"
revert_ok "$pid" fix-cmake
wait_for_log t '^compute\(7\)=21 calls=[0-9]+$' 2
finish_target t '^BAD'

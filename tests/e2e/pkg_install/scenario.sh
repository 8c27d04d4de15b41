# An installed hotpatch is usable as users use it: `make install PREFIX=...` (and
# with DESTDIR), then a CMake project with find_package(hotpatch CONFIG) and a
# Makefile project with `pkg-config --cflags --libs hotpatch` build cooperative
# services against the installed tree; they run, the installed CLI changes their
# registered variables over the control socket and applies a patch built with
# hotpatch::patch.
root=$(cd "$E2E_DIR/../.." && pwd)
build_dir=$(dirname "$HOTPATCH")
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$build_dir/CMakeCache.txt")
libexecdir=$(sed -n 's/^CMAKE_INSTALL_LIBEXECDIR:PATH=//p' "$build_dir/CMakeCache.txt")
# Every file the installed CLI needs at run time (hotpatch create's build capture is
# found in LIBEXECDIR/hotpatch, the preload module in LIBDIR/hotpatch).
runtime_files=(bin/hotpatch "$libdir/libhotpatch.so.0" "$libdir/hotpatch/libhotpatch_preload.so"
               "$libexecdir/hotpatch/hotpatch-cc" "$libexecdir/hotpatch/libhotpatch_capture.so")
prefix=$WORK/prefix

step "make install PREFIX=$prefix"
make -s -C "$root" install BUILD="$build_dir" PREFIX="$prefix" >install.log 2>&1 || { tail -n 40 install.log; fail "make install failed"; }
inst() { env -u HOTPATCH_RUNTIME -u HOTPATCH_CLI PATH=/usr/bin:/bin timeout 60 "$prefix/bin/hotpatch" "$@"; }
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
for f in "${runtime_files[@]}"; do
  [ -e "$prefix/$f" ] || fail "make install did not install $f"
done

step "a Makefile project: pkg-config --cflags --libs hotpatch"
cp -r "$CASE_DIR/project_make" make_project
make -s -C make_project >make_project.log 2>&1 || { cat make_project.log; fail "the Makefile project does not build against the installed tree"; }
assert_match "libhotpatch\.so\.0 => $prefix/$libdir/libhotpatch\.so\.0 " "$(ldd make_project/service)" "the C service's runtime"
start_target c ./make_project/service
pid=$LAST_PID
wait_for_log c '^level=1$'
out=$(inst -p "$pid" var set level 7) || fail "installed hotpatch var set failed: $out"
wait_for_log c '^level=7$' 2
out=$(inst -p "$pid" var get level) || fail "installed hotpatch var get failed: $out"
assert_eq 7 "$out" "var get level"
finish_target c '^BAD'

step "a CMake project: find_package(hotpatch CONFIG), hotpatch::runtime and hotpatch::patch"
cmake -S "$CASE_DIR/project_cmake" -B cmake_project -DCMAKE_PREFIX_PATH="$prefix" >cmake_project.log 2>&1 &&
  cmake --build cmake_project >>cmake_project.log 2>&1 || { cat cmake_project.log; fail "the CMake project does not build against the installed tree"; }
assert_eq "$prefix/bin/hotpatch" "$(cat cmake_project/hotpatch_executable.txt)" "hotpatch_EXECUTABLE"
assert_match "libhotpatch\.so\.0 => $prefix/$libdir/libhotpatch\.so\.0 " "$(ldd cmake_project/service)" "the C++ service's runtime"
assert_eq "" "$(readelf -d cmake_project/fix.so | grep NEEDED | grep hotpatch || true)" "the patch links no hotpatch library"
start_target cxx ./cmake_project/service
pid=$LAST_PID
wait_for_log cxx '^greeting=hello factor=3 compute\(7\)=21$'
out=$(inst -p "$pid" var set string greeting "good day") || fail "installed hotpatch var set failed: $out"
out=$(inst -p "$pid" var set factor 5) || fail "installed hotpatch var set failed: $out"
wait_for_log cxx '^greeting=good day factor=5 compute\(7\)=21$' 2
out=$(inst -p "$pid" apply cmake_project/fix.so) || fail "installed hotpatch apply failed: $out"
assert_match '^applied fix-installed: 1 function' "$out" "apply"
wait_for_log cxx '^greeting=good day factor=5 compute\(7\)=70$' 2
out=$(inst -p "$pid" revert fix-installed) || fail "installed hotpatch revert failed: $out"
wait_for_log cxx 'compute\(7\)=21$' 2
finish_target cxx '^BAD'

step "make install DESTDIR=...: the staged tree names the final prefix, and works where it lies"
final=/opt/hotpatch-e2e-$$
make -s -C "$root" install BUILD="$build_dir" PREFIX="$final" DESTDIR="$WORK/stage" >stage.log 2>&1 || { tail -n 40 stage.log; fail "make install DESTDIR=... failed"; }
[ ! -e "$final" ] || fail "make install with DESTDIR wrote to $final"
staged=$WORK/stage$final
for f in "${runtime_files[@]}" include/hotpatch/hotpatch.h "$libdir/cmake/hotpatch/hotpatch-config.cmake" \
         share/man/man1/hotpatch.1 share/bash-completion/completions/hotpatch; do
  [ -e "$staged/$f" ] || fail "make install DESTDIR=... did not stage $f"
done
assert_match "^prefix=$final$" "$(grep '^prefix=' "$staged/$libdir/pkgconfig/hotpatch.pc")" "the staged hotpatch.pc"
assert_match "^-I$WORK/stage$final/include +-L$WORK/stage$final/$libdir +-lhotpatch *$" \
  "$(PKG_CONFIG_SYSROOT_DIR=$WORK/stage PKG_CONFIG_PATH=$staged/$libdir/pkgconfig pkg-config --cflags --libs hotpatch)" \
  "pkg-config with PKG_CONFIG_SYSROOT_DIR"
assert_eq "runtime $staged/$libdir/libhotpatch.so.0.1.0" "$(env -u HOTPATCH_RUNTIME "$staged/bin/hotpatch" --version | sed -n 3p)" \
  "--version of the staged hotpatch"

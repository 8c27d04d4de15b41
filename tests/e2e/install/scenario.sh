# make install's layout works on its own: bin/hotpatch finds the runtime
# (lib/libhotpatch.so.0, its SONAME) through the bindir->libdir path the build was
# configured with, the runtime finds bin/hotpatch (its helper for func upgrade) the
# other way, and a patch builds with nothing but $(pkg-config --cflags hotpatch-patch).
# (The target and patch are basic_pie's: this case is about the installed layout.)
build_dir=$(dirname "$HOTPATCH")
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$build_dir/CMakeCache.txt")
[ -n "$libdir" ] || fail "no CMAKE_INSTALL_LIBDIR in $build_dir/CMakeCache.txt"
cmake --install "$build_dir" --prefix "$WORK/prefix" >install.log 2>&1 || { cat install.log; fail "cmake --install failed"; }
for f in bin/hotpatch "$libdir/libhotpatch.so.0.1.0" include/hotpatch/patch.h "$libdir/pkgconfig/hotpatch.pc" \
         "$libdir/pkgconfig/hotpatch-patch.pc" "$libdir/cmake/hotpatch/hotpatch-config.cmake" "$libdir/hotpatch/libhotpatch_preload.so"; do
  [ -e "$WORK/prefix/$f" ] || fail "make install did not install $f"
done
step "the runtime is a versioned library: libhotpatch.so -> libhotpatch.so.0 -> libhotpatch.so.0.1.0"
assert_eq libhotpatch.so.0 "$(readlink "$WORK/prefix/$libdir/libhotpatch.so")" "the development link"
assert_eq libhotpatch.so.0.1.0 "$(readlink "$WORK/prefix/$libdir/libhotpatch.so.0")" "the SONAME link"
soname=$(readelf -d "$WORK/prefix/$libdir/libhotpatch.so.0.1.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
assert_eq libhotpatch.so.0 "$soname" "SONAME"

step "pkg-config: absolute paths of the prefix the files went to"
export PKG_CONFIG_PATH="$WORK/prefix/$libdir/pkgconfig"
cflags=$(pkg-config --cflags hotpatch-patch) || fail "pkg-config does not know hotpatch-patch"
assert_match "^-I$WORK/prefix/include *$" "$cflags" "pkg-config --cflags hotpatch-patch"
assert_eq "" "$(pkg-config --libs hotpatch-patch | tr -d ' ')" "pkg-config --libs hotpatch-patch (a patch links no library)"
assert_match "^-I$WORK/prefix/include +-L$WORK/prefix/$libdir +-lhotpatch *$" "$(pkg-config --cflags --libs hotpatch)" \
  "pkg-config --cflags --libs hotpatch"
cc -shared -fPIC -O2 $cflags -o patch.so "$CASE_DIR/../basic_pie/patch.c" || fail "a patch does not build with the installed header"

step "--version: the version, the commit, the installed runtime"
version=$(env -u HOTPATCH_RUNTIME "$WORK/prefix/bin/hotpatch" --version)
sed 's/^/   | /' <<<"$version"
assert_match "^hotpatch [0-9]+\.[0-9]+\.[0-9]+$" "$(sed -n 1p <<<"$version")" "--version line 1"
assert_match "^commit ([0-9a-f]{12}(-dirty)?|unknown)$" "$(sed -n 2p <<<"$version")" "--version line 2"
commit=$(sed -n 's/^commit \([0-9a-f]*\).*/\1/p' <<<"$version")
if [ -n "$commit" ] && git -C "$E2E_DIR" rev-parse HEAD >/dev/null 2>&1; then
  git -C "$E2E_DIR" cat-file -e "$commit^{commit}" || fail "--version names commit $commit, which this repository does not have"
fi
assert_eq "runtime $WORK/prefix/$libdir/libhotpatch.so.0.1.0" "$(sed -n 3p <<<"$version")" "--version line 3"
build_target target "$CASE_DIR/../basic_pie/target.c" -fPIE -pie

start_target t ./target
pid=$LAST_PID
wait_for_log t '^compute\(7\)=21$'
installed=$WORK/prefix/bin/hotpatch
step "apply with the installed hotpatch (it finds its own runtime)"
out=$(env -u HOTPATCH_RUNTIME "$installed" -p "$pid" apply patch.so) || fail "installed hotpatch apply failed: $out"
assert_match '^applied fix-compute: 1 function' "$out" "apply output"
wait_for_log t '^compute\(7\)=70$' 2
grep -q " $WORK/prefix/$libdir/libhotpatch.so.0.1.0$" "/proc/$pid/maps" || fail "the target did not load the installed runtime"
out=$(env -u HOTPATCH_RUNTIME "$installed" -p "$pid" revert fix-compute) || fail "installed hotpatch revert failed: $out"
wait_for_log t '^compute\(7\)=21$' 2

step "func upgrade through the installed runtime (it runs the installed hotpatch as its helper)"
inst() { env -u HOTPATCH_RUNTIME -u HOTPATCH_CLI PATH=/usr/bin:/bin "$installed" "$@"; }
out=$(inst -p "$pid" inject) || fail "installed hotpatch inject failed: $out"
out=$(inst -p "$pid" lib load fix "$WORK/patch.so") || fail "lib load failed: $out"
out=$(inst -p "$pid" func upgrade fix compute compute_v2) || fail "func upgrade failed: $out"
assert_match '^written 5 bytes at 0x[0-9a-f]+: [0-9]+ threads stopped' "$out" "func upgrade"
wait_for_log t '^compute\(7\)=70$' 2
out=$(inst -p "$pid" func rollback compute) || fail "func rollback failed: $out"
wait_for_log t '^compute\(7\)=21$' 2
finish_target t '^BAD'

step "the installed preload module (in LIBDIR/hotpatch/) starts the installed runtime's control server"
start_target pre env LD_PRELOAD="$WORK/prefix/$libdir/hotpatch/libhotpatch_preload.so" ./target
pid=$LAST_PID
wait_for_log pre '^compute\(7\)=21$'
grep -q " $WORK/prefix/$libdir/libhotpatch.so.0.1.0$" "/proc/$pid/maps" || fail "the preload module did not load the installed runtime"
out=$(inst -p "$pid" func list) || fail "the preloaded process does not answer func list: $out"
finish_target pre '^BAD'

step "create with the installed hotpatch (it finds its compile wrapper in libexec)"
cp -r "$CASE_DIR/../create_basic/project" proj
(cd proj && make -s) >proj.log 2>&1 || { cat proj.log >&2; fail "building create_basic's project failed"; }
out=$(env -u HOTPATCH_RUNTIME PATH=/usr/bin:/bin "$installed" create --src proj --diff "$CASE_DIR/../create_basic/fix.diff" \
  --binary app -o created.so 2>&1) || fail "installed hotpatch create failed: $out"
assert_match '^changed: compute \(calc\.c\)$' "$out" "create with the installed hotpatch"
[ -x "$WORK/prefix/libexec/hotpatch/hotpatch-cc" ] || fail "hotpatch-cc is not installed in libexec/hotpatch"

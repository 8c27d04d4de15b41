# make install's layout works on its own: bin/hotpatch finds lib/libhotpatch.so next
# to it, lib/libhotpatch.so finds bin/hotpatch (its helper for func upgrade), and a
# patch builds with nothing but $(pkg-config --cflags hotpatch).
# (The target and patch are basic_pie's: this case is about the installed layout.)
build_dir=$(dirname "$HOTPATCH")
cmake --install "$build_dir" --prefix "$WORK/prefix" >install.log 2>&1 || { cat install.log; fail "cmake --install failed"; }
for f in bin/hotpatch lib/libhotpatch.so include/hotpatch/patch.h lib/pkgconfig/hotpatch.pc; do
  [ -e "$WORK/prefix/$f" ] || fail "make install did not install $f"
done
cflags=$(PKG_CONFIG_PATH="$WORK/prefix/lib/pkgconfig" pkg-config --cflags hotpatch) || fail "pkg-config does not know hotpatch"
assert_match "^-I$WORK/prefix/lib/pkgconfig/\.\./\.\./include *$" "$cflags" "pkg-config --cflags"
cc -shared -fPIC -O2 $cflags -o patch.so "$CASE_DIR/../basic_pie/patch.c" || fail "a patch does not build with the installed header"
build_target target "$CASE_DIR/../basic_pie/target.c" -fPIE -pie

start_target t ./target
pid=$LAST_PID
wait_for_log t '^compute\(7\)=21$'
installed=$WORK/prefix/bin/hotpatch
step "apply with the installed hotpatch (it finds its own runtime)"
out=$(env -u HOTPATCH_RUNTIME "$installed" -p "$pid" apply patch.so) || fail "installed hotpatch apply failed: $out"
assert_match '^applied fix-compute: 1 function' "$out" "apply output"
wait_for_log t '^compute\(7\)=70$' 2
grep -q " $WORK/prefix/lib/libhotpatch.so$" "/proc/$pid/maps" || fail "the target did not load the installed runtime"
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

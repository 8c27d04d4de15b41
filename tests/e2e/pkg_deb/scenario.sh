# make deb builds real Debian packages (hotpatch, libhotpatch0, libhotpatch-dev) that
# lintian passes without errors, holding what they should; the files they install
# work: the packaged hotpatch applies a patch to a running target with the packaged
# runtime from Debian's multiarch libdir. As root the packages are installed with
# dpkg -i, used from /usr, and purged; otherwise the check runs on the files
# unpacked with dpkg-deb -x.
#
# The package's CMake build directory is BUILD/deb/obj, shared with `make deb`: the
# first run compiles the CLI and the runtime with Debian's flags (minutes), later
# runs only what changed.
root=$(cd "$E2E_DIR/../.." && pwd)
build_dir=$(dirname "$HOTPATCH")
deb_dir=$build_dir/deb
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)

step "make deb (dpkg-buildpackage, lintian)"
# One at a time on this machine: the build directory and dpkg's database are shared.
exec {lock}>"${TMPDIR:-/tmp}/hotpatch-e2e-pkg_deb.lock"
flock "$lock"
start=$SECONDS
# (no -dbgsym packages: they halve the time and change nothing this case checks)
DEB_BUILD_OPTIONS=noautodbgsym make -s -C "$root" deb BUILD="$build_dir" >make-deb.log 2>&1 ||
  { tail -n 60 make-deb.log; fail "make deb failed"; }
note "make deb took $((SECONDS - start)) s"
sed 's/^/   | /' "$deb_dir/lintian.txt"
grep -q '^E: ' "$deb_dir/lintian.txt" && fail "lintian reports errors"
for p in hotpatch libhotpatch0 libhotpatch-dev; do
  [ -f "$deb_dir/${p}_${version}_amd64.deb" ] || fail "make deb did not make ${p}_${version}_amd64.deb"
done

step "what each package holds"
contents() { dpkg-deb -c "$deb_dir/$1_${version}_amd64.deb" | awk '{print $6}' | sed 's|^\./|/|'; }
has() {
  local pkg=$1 path=$2
  grep -qxF -- "$path" <<<"$(contents "$pkg")" || fail "package $pkg does not hold $path"
}
has hotpatch /usr/bin/hotpatch
has hotpatch "/usr/lib/$multiarch/hotpatch/libhotpatch_preload.so"
has hotpatch /usr/libexec/hotpatch/libhotpatch_capture.so
has hotpatch /usr/libexec/hotpatch/hotpatch-cc
has hotpatch /usr/share/man/man1/hotpatch.1.gz
has hotpatch /usr/share/man/man5/hotpatch-patch.5.gz
has hotpatch /usr/share/man/man8/hotpatch-agent.8.gz
has hotpatch /usr/share/bash-completion/completions/hotpatch
has hotpatch /usr/share/doc/hotpatch/README.md.gz
if [ -f "$root/contrib/systemd/hotpatch-agent.service" ]; then
  has hotpatch /lib/systemd/system/hotpatch-agent.service
fi
has libhotpatch0 "/usr/lib/$multiarch/libhotpatch.so.0.1.0"
has libhotpatch0 "/usr/lib/$multiarch/libhotpatch.so.0"
has libhotpatch-dev "/usr/lib/$multiarch/libhotpatch.so"
has libhotpatch-dev /usr/include/hotpatch/patch.h
has libhotpatch-dev /usr/include/hotpatch/hotpatch.h
has libhotpatch-dev "/usr/lib/$multiarch/pkgconfig/hotpatch.pc"
has libhotpatch-dev "/usr/lib/$multiarch/pkgconfig/hotpatch-patch.pc"
has libhotpatch-dev "/usr/lib/$multiarch/cmake/hotpatch/hotpatch-config.cmake"
depends=$(dpkg-deb -f "$deb_dir/hotpatch_${version}_amd64.deb" Depends)
assert_match "libhotpatch0 \(= $version\)" "$depends" "hotpatch's Depends (the CLI loads exactly its own runtime)"

build_target target "$CASE_DIR/../basic_pie/target.c" -fPIE -pie
# patch_and_check HOTPATCH PREFIX: the given hotpatch applies and reverts the patch,
# loading the runtime from PREFIX's multiarch libdir.
patch_and_check() {
  local cli=$1 prefix=$2 name=$3 pid out
  start_target "$name" ./target
  pid=$LAST_PID
  wait_for_log "$name" '^compute\(7\)=21$'
  out=$(env -u HOTPATCH_RUNTIME -u HOTPATCH_CLI timeout 60 "$cli" -p "$pid" apply patch.so) || fail "$cli apply failed: $out"
  assert_match '^applied fix-compute: 1 function' "$out" "apply with $cli"
  wait_for_log "$name" '^compute\(7\)=70$' 2
  grep -q " $prefix/usr/lib/$multiarch/libhotpatch.so.0.1.0$" "/proc/$pid/maps" ||
    fail "the target did not load the packaged runtime $prefix/usr/lib/$multiarch/libhotpatch.so.0.1.0"
  out=$(env -u HOTPATCH_RUNTIME timeout 60 "$cli" -p "$pid" revert fix-compute) || fail "$cli revert failed: $out"
  wait_for_log "$name" '^compute\(7\)=21$' 2
  finish_target "$name" '^BAD'
}

step "the unpacked packages work: hotpatch finds its runtime in lib/$multiarch, the header builds a patch"
for p in hotpatch libhotpatch0 libhotpatch-dev; do dpkg-deb -x "$deb_dir/${p}_${version}_amd64.deb" "$WORK/unpacked"; done
assert_eq "runtime $WORK/unpacked/usr/lib/$multiarch/libhotpatch.so.0.1.0" \
  "$(env -u HOTPATCH_RUNTIME "$WORK/unpacked/usr/bin/hotpatch" --version | sed -n 3p)" "--version of the unpacked hotpatch"
cc -shared -fPIC -O2 -I"$WORK/unpacked/usr/include" -o patch.so "$CASE_DIR/../basic_pie/patch.c" ||
  fail "a patch does not build with the packaged header"
patch_and_check "$WORK/unpacked/usr/bin/hotpatch" "$WORK/unpacked" unpacked
# hotpatch create finds its build capture tools in libexec/hotpatch/
cp -r "$CASE_DIR/../create_basic/project" src
(cd src && make -s) || fail "building create_basic's project failed"
out=$(env -u HOTPATCH_RUNTIME timeout 120 "$WORK/unpacked/usr/bin/hotpatch" create --src src \
        --diff "$CASE_DIR/../create_basic/fix.diff" --binary app -o created.so 2>&1) ||
  fail "the unpacked hotpatch create failed: $out"
[ -f created.so ] || fail "the unpacked hotpatch create wrote no patch"

if [ "$(id -u)" -ne 0 ]; then
  note "not root: dpkg -i is not exercised"
  return 0
fi
if dpkg-query -W -f='${Status}' hotpatch libhotpatch0 libhotpatch-dev 2>/dev/null | grep -q 'install ok installed'; then
  note "hotpatch packages are installed on this machine already: dpkg -i and purge are not exercised (they would replace them)"
  return 0
fi

step "dpkg -i: the installed hotpatch patches a process with the installed runtime"
on_cleanup dpkg --purge hotpatch libhotpatch-dev libhotpatch0
dpkg -i "$deb_dir"/hotpatch_"$version"_amd64.deb "$deb_dir"/libhotpatch0_"$version"_amd64.deb \
  "$deb_dir"/libhotpatch-dev_"$version"_amd64.deb >dpkg.log 2>&1 || { cat dpkg.log; fail "dpkg -i failed"; }
assert_eq "runtime /usr/lib/$multiarch/libhotpatch.so.0.1.0" "$(env -u HOTPATCH_RUNTIME /usr/bin/hotpatch --version | sed -n 3p)" \
  "--version of the installed hotpatch"
# The installed headers and pkg-config file, as a patch author uses them.
cc -shared -fPIC -O2 $(pkg-config --cflags hotpatch-patch) -o patch.so "$CASE_DIR/../basic_pie/patch.c" ||
  fail "a patch does not build with pkg-config --cflags hotpatch-patch"
patch_and_check /usr/bin/hotpatch "" installed
man -w hotpatch >/dev/null || fail "man does not find hotpatch(1) after dpkg -i"
if [ -f /lib/systemd/system/hotpatch-agent.service ]; then
  # installed, not enabled: the administrator decides
  state=$(systemctl is-enabled hotpatch-agent 2>/dev/null || true)
  assert_match '^(disabled|)$' "$state" "hotpatch-agent after dpkg -i"
fi

step "dpkg --purge leaves nothing"
dpkg --purge hotpatch libhotpatch-dev libhotpatch0 >dpkg.log 2>&1 || { cat dpkg.log; fail "dpkg --purge failed"; }
for f in /usr/bin/hotpatch "/usr/lib/$multiarch/libhotpatch.so.0" /usr/include/hotpatch /usr/share/doc/hotpatch; do
  [ ! -e "$f" ] || fail "$f is still there after purge"
done

# The manual pages stay true and clean: hotpatch(1) documents every subcommand and
# option that `hotpatch --help` and each subcommand's --help list, and every exit
# code of docs/cli.md; hotpatch-agent(8) every option of `hotpatch agent`;
# hotpatch-patch(5) every public macro of <hotpatch/patch.h> (check_man.py). groff
# and man render them without a warning (what lintian checks), and make install puts
# them where man finds them.
root=$(cd "$E2E_DIR/../.." && pwd)
man_dir=$root/man

step "the pages cover what the command accepts"
python3 "$CASE_DIR/check_man.py" "$HOTPATCH" "$man_dir" "$root/docs/cli.md" "$HOTPATCH_INCLUDE/hotpatch/patch.h" \
  >check.out 2>&1 || { cat check.out; fail "the manual pages miss what the command accepts (see MISSING above)"; }
note "$(tail -n 1 check.out)"

step "the check bites: a page without the socket subcommand's entry fails it"
mkdir broken
cp "$man_dir"/* broken/
sed -i '/^\.SS "socket"$/d' broken/hotpatch.1
if python3 "$CASE_DIR/check_man.py" "$HOTPATCH" "$WORK/broken" "$root/docs/cli.md" "$HOTPATCH_INCLUDE/hotpatch/patch.h" >broken.out 2>&1; then
  fail "check_man.py passed a page without the socket subcommand"
fi
grep -q "subcommand socket has no subsection" broken.out || { cat broken.out; fail "check_man.py did not name the missing subcommand"; }

step "the check bites on the header: a new public macro must be documented, a helper (name ending in _) need not"
cp "$HOTPATCH_INCLUDE/hotpatch/patch.h" patch.h
sed -i 's|^#endif /\* HOTPATCH_PATCH_H \*/$|#define HOTPATCH_NEW_HELPER_(x) x\n#define HOTPATCH_NEW_RECORD(x) HOTPATCH_NEW_HELPER_(x)\n&|' patch.h
grep -q '^#define HOTPATCH_NEW_RECORD' patch.h || fail "could not add a macro to a copy of patch.h (has its last line changed?)"
if python3 "$CASE_DIR/check_man.py" "$HOTPATCH" "$man_dir" "$root/docs/cli.md" patch.h >header.out 2>&1; then
  fail "check_man.py passed a header with an undocumented macro"
fi
assert_eq "MISSING: hotpatch-patch(5): macro HOTPATCH_NEW_RECORD of <hotpatch/patch.h> is not an item of MACROS" \
  "$(grep MISSING header.out)" "what check_man.py reports for the new macros"

step "groff and man render them without warnings"
for page in "$man_dir"/*.[1-8]; do
  groff -t -man -ww -z "$page" >groff.out 2>&1
  [ ! -s groff.out ] || { cat groff.out; fail "groff warns about $(basename "$page")"; }
  # lintian's check: man at the default width, with warnings
  LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" >/dev/null 2>man.out
  [ ! -s man.out ] || { cat man.out; fail "man warns about $(basename "$page")"; }
done

step "make install puts them under share/man, where man finds them"
cmake --install "$(dirname "$HOTPATCH")" --prefix "$WORK/prefix" >install.log 2>&1 || { cat install.log; fail "cmake --install failed"; }
for page in hotpatch.1 hotpatch-patch.5 hotpatch-agent.8; do
  section=${page##*.}
  found=$(man -M "$WORK/prefix/share/man" -w "$section" "${page%.*}") || fail "man does not find the installed ${page%.*}($section)"
  assert_eq "$WORK/prefix/share/man/man$section/$page" "$found" "man -w ${page%.*}"
done

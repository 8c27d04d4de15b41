# Bash completion (contrib/bash-completion/hotpatch), driven as bash drives it:
# COMP_WORDS/COMP_CWORD set, _hotpatch called, COMPREPLY read. Subcommands and
# options are the command's own; after -p the pids of running processes (and all);
# after apply only patch files and directories; after revert the ids `list --json`
# gives for the selected process; after remove-patch the installed patches' ids.
root=$(cd "$E2E_DIR/../.." && pwd)
completion=$root/contrib/bash-completion/hotpatch
bash -n "$completion" || fail "the completion script does not parse"

build_target target "$CASE_DIR/../basic_pie/target.c" -fPIE -pie
build_patch patch.so "$CASE_DIR/../basic_pie/patch.c"
mkdir -p patches/sub
cp patch.so patches/fix.so
touch patches/notes.txt

# complete WORD... : the candidates bash would offer for the last word, one a line.
# COMP_LINE is the words joined by blanks, or $LINE (for words bash split at ':').
complete_words() {
  LINE=${LINE:-} bash -c 'source "$1"; shift
           COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE=${LINE:-$*}; COMP_POINT=${#COMP_LINE}
           _hotpatch; for c in "${COMPREPLY[@]}"; do printf "%s\n" "$c"; done' _ "$completion" "$@"
}
# offers WHAT EXPECTED WORD...: EXPECTED (one a line) is among the candidates.
offers() {
  local what=$1 expected=$2 got
  shift 2
  got=$(complete_words "$@")
  grep -qxF -- "$expected" <<<"$got" || fail "$what: '$expected' not offered for [$*]; offered: $(tr '\n' ' ' <<<"$got")"
}
# offers_exactly WHAT EXPECTED WORD...: the candidates, sorted, are EXPECTED.
offers_exactly() {
  local what=$1 expected=$2 got
  shift 2
  got=$(complete_words "$@" | sort | tr '\n' ' ')
  assert_eq "$expected" "$got" "$what [$*]"
}

step "subcommands and options: those of hotpatch --help"
subs=$("$HOTPATCH" --help | sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([^ ]*\).*/\1/p' | sort | tr '\n' ' ')
[ -n "$subs" ] || fail "hotpatch --help lists no subcommands"
offers_exactly "subcommands" "$subs" "$HOTPATCH" ""
offers_exactly "subcommands starting with 'i'" "info inject $(grep -o '\binstall-patch\b' <<<"$subs" | tr '\n' ' ')" "$HOTPATCH" i
offers "global options" --json "$HOTPATCH" --j
offers "global options" --pid "$HOTPATCH" -
offers "apply's options" --timeout "$HOTPATCH" -p 1 apply --t
offers "revert's options" --all "$HOTPATCH" -p 1 revert -
offers "create's options" --binary "$HOTPATCH" create --src . --b

start_target t ./target
pid=$LAST_PID
wait_for_log t '^compute\(7\)=21$'

step "after -p: running processes' pids, all, and lists"
offers "pid" "$pid" "$HOTPATCH" -p "${pid:0:1}"
offers "pid" all "$HOTPATCH" -p a
offers "second pid of a list" "$$,$pid" "$HOTPATCH" -p "$$,${pid:0:2}"
offers_exactly "no such pid" "" "$HOTPATCH" -p 999999999

step "after apply: patch files and directories, nothing else"
offers_exactly "apply's file" "patches/fix.so patches/sub " "$HOTPATCH" -p "$pid" apply patches/
offers "check's file" patches/fix.so "$HOTPATCH" -p "$pid" check patches/f

step "after --exe: running programs"
offers "running program" "$WORK/target" "$HOTPATCH" --exe "$WORK/tar"

step "after revert: the ids of the patches applied to the process"
offers_exactly "revert with nothing applied" "" "$HOTPATCH" -p "$pid" revert ""
apply_ok "$pid" patch.so fix-compute
offers_exactly "revert's ids" "fix-compute " "$HOTPATCH" -p "$pid" revert ""
offers_exactly "revert's ids" "fix-compute " "$HOTPATCH" -p "$pid" revert fix
offers_exactly "revert's ids, another prefix" "" "$HOTPATCH" -p "$pid" revert zzz
if "$HOTPATCH" apply --help | grep -q -- --replace; then
  offers_exactly "apply --replace's ids" "fix-compute " "$HOTPATCH" -p "$pid" apply --replace ""
  offers_exactly "apply --replace ID: then the patch file" "patches/fix.so patches/sub " "$HOTPATCH" -p "$pid" apply --replace fix-compute patches/
fi
revert_ok "$pid" fix-compute

step "ids with a colon (func:NAME): bash splits words at ':'"
cat >fake-hotpatch <<'FAKE'
#!/bin/sh
# what `hotpatch -p PID list --json` prints for two upgraded functions
echo '{"pid":1,"patches":[{"id":"func:add_func","functions":[]},{"id":"func:sub_func","functions":[]}]}'
FAKE
chmod +x fake-hotpatch
offers_exactly "a colon id, before the colon" "func:add_func func:sub_func " "$WORK/fake-hotpatch" -p 1 revert fu
# bash has split "func:a" into "func" ":" "a": what follows the colon is completed.
LINE="$WORK/fake-hotpatch -p 1 revert func:a" \
  offers_exactly "a colon id, after the colon" "add_func " "$WORK/fake-hotpatch" -p 1 revert func : a
LINE="$WORK/fake-hotpatch -p 1 revert func:" \
  offers_exactly "a colon id, right after the colon" "add_func sub_func " "$WORK/fake-hotpatch" -p 1 revert func :

step "cooperative groups: their commands"
offers_exactly "glog" "get set " "$HOTPATCH" -p "$pid" glog ""
offers_exactly "glog set" "minloglevel v vmodule " "$HOTPATCH" -p "$pid" glog set ""
offers_exactly "func" "list rollback upgrade " "$HOTPATCH" -p "$pid" func ""

if grep -qw remove-patch <<<"$subs"; then
  step "after remove-patch: the installed patches' ids"
  mkdir -m 0755 store
  # (a patch the agent takes names a build-id: the target's)
  bid=$(readelf -n target | sed -n 's/.*Build ID: *//p')
  printf '#include <hotpatch/patch.h>\nHOTPATCH_ID("fix-store");\nHOTPATCH_BUILD_ID("%s");\nstatic int v2(int x) { return x; }\nHOTPATCH_REPLACE(compute, v2);\n' "$bid" >store.c
  build_patch store.so store.c
  expect_success hp install-patch store.so --patch-dir "$WORK/store"
  offers_exactly "remove-patch's ids" "fix-store " "$HOTPATCH" remove-patch --patch-dir "$WORK/store" ""
else
  note "no remove-patch subcommand in this hotpatch: its completion is not exercised"
fi
finish_target t '^BAD'

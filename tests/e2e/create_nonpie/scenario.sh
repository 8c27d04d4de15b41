# A non-PIE program (-fno-pie -no-pie): its code refers to data by 32-bit absolute
# addresses (`mov $string, %edi`). The patch's new string literal is such a
# reference to the patch's own data: the loader fills it in (a "hotpatch.self:"
# TARGET_RELOC), the patch mapped below 2 GiB next to the program. create_basic's
# project and fix, its Makefile's CFLAGS made non-PIE.
cp -r "$CASE_DIR/../create_basic/project" src
sed -i 's/^CFLAGS ?= .*/& -fno-pie -no-pie/' src/Makefile
(cd src && make -s) || fail "building the project failed"
case $(readelf -h src/app) in *"EXEC (Executable file)"*) ;; *) fail "the program should be non-PIE (ET_EXEC)" ;; esac

step "create"
expect_success hp create --src src --diff "$CASE_DIR/../create_basic/fix.diff" --binary app -o fix.so --id nonpie
assert_match '^changed: compute \(calc\.c\)$' "$LAST_OUT" "report names the changed function"
expect_success hp info fix.so
assert_match '^  target reference: hotpatch\.self:.* \(relocation type (10|11),' "$LAST_OUT" \
  "a 32-bit absolute reference to the patch's own data"

start_target t ./src/app
pid=$LAST_PID
wait_for_log t '^compute\(7\)=21 calls=[0-9]+$'

step "apply"
apply_ok "$pid" fix.so nonpie
wait_for_log t '^fixed compute\(7\)$' 2
wait_for_log t '^compute\(7\)=121 calls=[0-9]+$' 2

step "revert"
revert_ok "$pid" nonpie
wait_for_log t '^compute\(7\)=21 calls=[0-9]+$' 2
finish_target t '^BAD'

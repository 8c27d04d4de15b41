# Cooperative runtime: every command of the seed's README on examples/simple_server,
# through the CLI and through a raw socket client (nc -U), with real answers.
EX=$(dirname "$HOTPATCH")/examples
[ -x "$EX/simple_server" ] || fail "examples not built: $EX/simple_server"
cp "$EX/libadd_func_patch1.so" "$EX/libadd_func_patch2.so" "$WORK/"
chmod 755 "$WORK"/lib*.so

start_target s "$EX/simple_server" --interval_ms=50
pid=$LAST_PID
wait_for_log s '^ready pid='
sock=$(hp -p "$pid" socket)
note "socket $sock"
assert_match "^(/run/hotpatch|/tmp/hotpatch-[0-9]+|.*/hotpatch)/$pid\.sock$" "$sock" "socket path"
assert_eq "srw-------" "$(stat -c %A "$sock")" "socket mode"
assert_eq "drwx------" "$(stat -c %A "$(dirname "$sock")")" "socket directory mode"

# nc_cmd LINE: the raw reply of the socket to one line.
nc_cmd() { printf '%s\n' "$1" | timeout 5 nc -N -U "$sock"; }

step "help, version (raw socket)"
out=$(nc_cmd help)
assert_match '^func rollback FUNC' "$out" "help"
assert_match '^OK$' "$out" "help ends with OK"
assert_match '^hotpatch runtime [0-9.]+, protocol 1$' "$(nc_cmd version)" "version"

step "var"
expect_success hp -p "$pid" var list
assert_match '^user_name std::string myname$' "$LAST_OUT" "var list"
assert_match '^age int32_t 10$' "$LAST_OUT" "var list"
assert_match '^requests std::atomic<int64_t> [0-9]+$' "$LAST_OUT" "var list"
expect_success hp -p "$pid" var get string user_name
assert_eq myname "$LAST_OUT" "var get string user_name"
expect_success hp -p "$pid" var set string user_name "new name"
wait_for_log s '^user_name=new name age=10 '
expect_success hp -p "$pid" var set int age 20
wait_for_log s '^user_name=new name age=20 '
expect_success hp -p "$pid" var set age 0x7fffffff
assert_eq 2147483647 "$LAST_OUT" "age after hex set"
expect_success hp -p "$pid" var set double ratio 2.25
expect_success hp -p "$pid" var set verbose true
wait_for_log s ' ratio=2.25 verbose=1 '
expect_success hp -p "$pid" var set std::atomic\<int64_t\> requests 1000000
expect_success hp -p "$pid" var get requests
[ "$LAST_OUT" -ge 1000000 ] || fail "requests after set: $LAST_OUT"
expect_fail 8 "out of range" hp -p "$pid" var set int age 99999999999
expect_fail 8 "is int32_t, not double" hp -p "$pid" var get double age
expect_fail 8 "no variable 'nope'" hp -p "$pid" var get nope
expect_fail 8 "not a bool" hp -p "$pid" var set verbose maybe
assert_match '^"new name"$' "$(nc_cmd 'var get user_name')" "raw var get"
assert_match '^"a \\"quoted\\" value"$' "$(nc_cmd 'var set user_name "a \"quoted\" value"')" "raw var set with quotes"
wait_for_log s '^user_name=a "quoted" value '

step "gflags"
expect_success hp -p "$pid" gflags list
assert_match '^--port=8080$' "$LAST_OUT" "gflags list"
expect_success hp -p "$pid" gflags get port
assert_eq 8080 "$LAST_OUT" "gflags get port"
expect_success hp -p "$pid" gflags set port 9090
wait_for_log s ' port=9090 '
expect_fail 8 "refused '0'.*validator" hp -p "$pid" gflags set port 0
expect_fail 8 "refused 'abc'" hp -p "$pid" gflags set port abc
expect_fail 8 "no flag 'nope'" hp -p "$pid" gflags get nope

step "glog: v, vmodule, minloglevel take effect at once"
expect_success hp -p "$pid" glog get
assert_match '^minloglevel 0$' "$LAST_OUT" "glog get"
expect_success hp -p "$pid" glog set v 1
wait_for_log s 'vlog1 tick'
expect_success hp -p "$pid" glog set v 0
expect_success hp -p "$pid" glog set vmodule simple_server=1
wait_for_log s 'vlog1 tick'
expect_success hp -p "$pid" glog get
assert_match '^vmodule simple_server=1$' "$LAST_OUT" "glog get after vmodule"
expect_success hp -p "$pid" glog set vmodule simple_server=0
expect_success hp -p "$pid" glog set minloglevel 1
mark_log s
wait_for_log s 'warning tick'
n0=$(wc -l <"$WORK/s.log")
wait_for_log s 'warning tick'
wait_for_log s 'warning tick'
assert_eq 0 "$(tail -n +$((n0 + 1)) "$WORK/s.log" | grep -c 'info tick' || true)" "INFO lines after minloglevel 1"
expect_fail 8 "out of range \[0, 3\]" hp -p "$pid" glog set minloglevel 7
expect_fail 8 "expected MODULE=N" hp -p "$pid" glog set vmodule nonsense
expect_success hp -p "$pid" glog set minloglevel 0

step "lib and func (stacked upgrades, rollback, unload)"
expect_success hp -p "$pid" lib load add_func_patch1 "$WORK/libadd_func_patch1.so"
expect_success hp -p "$pid" lib load add_func_patch2 "$WORK/libadd_func_patch2.so"
expect_success hp -p "$pid" lib list
assert_match "^add_func_patch1 $WORK/libadd_func_patch1.so$" "$LAST_OUT" "lib list"
expect_success hp -p "$pid" func upgrade add_func_patch1 add_func
assert_match '^upgraded add_func 0x[0-9a-f]+ -> add_func 0x[0-9a-f]+ .* as func:add_func$' "$LAST_OUT" "upgrade"
wait_for_log s 'add_func\(1,2\)=1003 '
expect_success hp -p "$pid" list
assert_match "^func:add_func +applied .* $WORK/libadd_func_patch1.so$" "$LAST_OUT" "ptrace list shows the upgrade"
expect_success hp -p "$pid" func upgrade add_func_patch2 add_func add_func_v2
wait_for_log s 'add_func\(1,2\)=2003 '
expect_success hp -p "$pid" func list
assert_match '^registered add_func 0x' "$LAST_OUT" "func list"
assert_match '^redirect add_func 0x[0-9a-f]+ -> add_func_v2 0x[0-9a-f]+( via stub)? \(func:add_func#2, ' "$LAST_OUT" "func list"
expect_fail 8 "in use: 'add_func' still jumps into it" hp -p "$pid" lib unload add_func_patch2
expect_fail 8 "defines no function 'nope'" hp -p "$pid" func upgrade add_func_patch1 add_func nope
expect_fail 8 "no library named 'nolib'" hp -p "$pid" func upgrade nolib add_func
expect_fail 8 "no function 'no_such_function'" hp -p "$pid" func upgrade add_func_patch1 no_such_function
expect_success hp -p "$pid" func rollback add_func
wait_for_log s 'add_func\(1,2\)=1003 '
expect_success hp -p "$pid" lib unload add_func_patch2
expect_success hp -p "$pid" func rollback add_func
wait_for_log s 'add_func\(1,2\)=3 '
expect_fail 8 "not upgraded; nothing to roll back" hp -p "$pid" func rollback add_func
expect_success hp -p "$pid" list
assert_eq "no patches applied" "$(patches_listed "$LAST_OUT")" "ptrace list after rollbacks"

step "a ptrace revert undoes a cooperative upgrade (shared registry)"
expect_success hp -p "$pid" func upgrade add_func_patch1 add_func
wait_for_log s 'add_func\(1,2\)=1003 '
revert_ok "$pid" func:add_func
wait_for_log s 'add_func\(1,2\)=3 '
expect_fail 8 "not upgraded" hp -p "$pid" func rollback add_func
expect_success hp -p "$pid" lib unload add_func_patch1
expect_fail 8 "no library named" hp -p "$pid" lib unload add_func_patch1

finish_target s

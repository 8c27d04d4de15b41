# Every bad input on the control socket gets `ERR ...` and the service keeps
# serving: unknown command/name, wrong type, out of range, empty line, 1 MiB line,
# binary garbage, half a line then disconnect, 64 clients at once, another uid.
EX=$(dirname "$HOTPATCH")/examples
start_target s "$EX/simple_server" --interval_ms=100
pid=$LAST_PID
wait_for_log s '^ready pid='
sock=$(hp -p "$pid" socket)

step "raw socket clients"
expect_success python3 "$CASE_DIR/client.py" "$sock"

step "CLI: bad input is exit 8 with the runtime's reason"
expect_fail 8 "unknown type 'complex'" hp -p "$pid" var set complex age 1
expect_fail 8 "'1.5' is not a number" hp -p "$pid" var set int age 1.5
expect_fail 8 "is int32_t, not std::string" hp -p "$pid" var set string age 1
expect_fail 2 "" hp -p "$pid" frobnicate

step "a connection from another uid is refused (SO_PEERCRED)"
# uid 65533 keeps CAP_DAC_OVERRIDE so it can reach the 0700 directory: only the
# server's own check stands between it and the process.
run_cmd setpriv --reuid=65533 --regid=65533 --clear-groups --inh-caps=+dac_override --ambient-caps=+dac_override \
  sh -c "printf 'var set age 5\n' | nc -N -U '$sock'"
assert_match '^ERR permission denied: uid 65533 may not control this process' "$LAST_OUT" "other uid"
expect_success hp -p "$pid" var get age
assert_eq 10 "$LAST_OUT" "age unchanged by the refused client"

step "a process with no control server, and one without gflags/glog"
start_target plain sleep 60
expect_fail 9 "runs no hotpatch control server" hp -p "$LAST_PID" var list
cat >"$WORK/noflags.c" <<'C'
#include <stdio.h>
#include <unistd.h>
#include <hotpatch/hotpatch_c.h>
int main(void) {
  if (hotpatch_init_server() != 0) { printf("BAD %s\n", hotpatch_last_error()); return 1; }
  printf("ready\n"); fflush(stdout);
  for (;;) pause();
}
C
build_target noflags "$WORK/noflags.c" -I"$HOTPATCH_INCLUDE" -L"$(dirname "$HOTPATCH_RUNTIME")" -lhotpatch \
  -Wl,-rpath,"$(dirname "$HOTPATCH_RUNTIME")"
start_target nf ./noflags
wait_for_log nf '^ready'
expect_fail 8 "this process does not use gflags" hp -p "$(pid_of nf)" gflags list
expect_fail 8 "this process does not use glog" hp -p "$(pid_of nf)" glog get
expect_success hp -p "$(pid_of nf)" var list
assert_eq "no variables registered" "$LAST_OUT" "var list without variables"

wait_for_log s '^user_name=myname age=10 '
finish_target s
finish_target nf

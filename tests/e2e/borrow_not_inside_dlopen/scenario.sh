# A thread blocked in a syscall that ld.so makes during the program's own dlopen
# (openat of a FIFO nobody writes yet) holds the dynamic loader's lock with a load
# half begun: the Loader must not borrow it for its remote dlopen. The target has
# no other thread, so apply waits until the program's dlopen is over, then works.
build_target target "$CASE_DIR/target.c" -ldl
build_patch patch.so "$E2E_DIR/basic_pie/patch.c"
mkfifo "$WORK/lib.fifo"

start_target t ./target "$WORK/lib.fifo"
pid=$LAST_PID
wait_for_log t '^ready'
expect_output t '^compute\(7\)=21$' 2

step "the only thread blocks inside ld.so (dlopen of a FIFO)"
kill -USR1 "$pid"
wait_for_log t '^calling dlopen$'
wait_for_syscall "$pid" 257   # ld.so's openat of the FIFO

step "apply waits for a safe thread instead of nesting in the program's dlopen"
"$HOTPATCH" -p "$pid" apply patch.so --timeout 20000 >"$WORK/apply.out" 2>"$WORK/apply.err" &
apply=$!
nap 1.5
kill -0 "$apply" 2>/dev/null || fail "apply ended while the only thread was inside ld.so: $(cat "$WORK/apply.out" "$WORK/apply.err")"
# Alive; not expect_alive: between its attempts apply seizes the process for a moment
# to look again, so TracerPid may be the CLI's at any given instant.
_proc_state "$pid"
case $_STATE in gone | Z | X) fail "process $pid died while apply waited (state '$_STATE')" ;; esac

step "the program's dlopen ends (an empty 'library'), then apply goes ahead"
: >"$WORK/lib.fifo"   # open for writing and close: ld.so reads EOF and fails the dlopen
wait_for_log t '^dlopen returned an error$' 10
wait "$apply" && rc=0 || rc=$?
assert_eq 0 "$rc" "apply's exit code (stderr: $(cat "$WORK/apply.err"))"
assert_match '^applied fix-compute: ' "$(cat "$WORK/apply.out")" "apply output"
wait_for_log t '^compute\(7\)=70$' 2
revert_ok "$pid" fix-compute
wait_for_log t '^compute\(7\)=21$' 2
finish_target t

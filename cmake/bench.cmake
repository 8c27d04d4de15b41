# Benchmarks (issue 5, `make bench`): built only on request (EXCLUDE_FROM_ALL), so
# `make build` and `make test` do not pay for them. bench/run.sh builds the
# `bench_programs` target and runs everything.

# P1: per-call cost of a redirect. Optimised like real code, with the arch encoder
# the Patcher uses to write the jump.
add_executable(bench_call_cost EXCLUDE_FROM_ALL bench/call_cost.cpp)
target_link_libraries(bench_call_cost PRIVATE hotpatch_core)
target_compile_options(bench_call_cost PRIVATE -O2)

# P2: the target with T threads, the patch applied to it, and the driver that stops
# it with AllThreadsStopped (the floor) and patches it with the Patcher.
add_executable(bench_spin_target EXCLUDE_FROM_ALL bench/spin_target.c)
target_link_libraries(bench_spin_target PRIVATE pthread)
target_compile_options(bench_spin_target PRIVATE -O2)

add_library(bench_pause_fix SHARED EXCLUDE_FROM_ALL bench/pause_fix.c)
target_include_directories(bench_pause_fix PRIVATE include)
set_target_properties(bench_pause_fix PROPERTIES PREFIX "" OUTPUT_NAME pause_fix)

add_executable(bench_pause EXCLUDE_FROM_ALL bench/pause_bench.cpp)
target_link_libraries(bench_pause PRIVATE hotpatch_core)

# P3: the demo server and its fix, under a load generator that keeps every latency.
add_executable(bench_demo_server EXCLUDE_FROM_ALL examples/demo/server.c)
target_link_libraries(bench_demo_server PRIVATE pthread)
target_compile_options(bench_demo_server PRIVATE -O2)

add_library(bench_demo_fix SHARED EXCLUDE_FROM_ALL examples/demo/fix.c)
target_include_directories(bench_demo_fix PRIVATE include)
set_target_properties(bench_demo_fix PROPERTIES PREFIX "" OUTPUT_NAME demo_fix)

add_executable(bench_latency_load EXCLUDE_FROM_ALL bench/latency_load.c)
target_link_libraries(bench_latency_load PRIVATE pthread)
target_compile_options(bench_latency_load PRIVATE -O2)

# Profiling aid for the stop window (run by hand: bench/stop_profile PID TRIALS).
add_executable(bench_stop_profile EXCLUDE_FROM_ALL bench/stop_profile.cpp)
target_link_libraries(bench_stop_profile PRIVATE hotpatch_core)

set(BENCH_PROGRAMS bench_call_cost bench_stop_profile bench_spin_target bench_pause_fix bench_pause bench_demo_server bench_demo_fix
    bench_latency_load)
set_target_properties(${BENCH_PROGRAMS} PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
add_custom_target(bench_programs DEPENDS ${BENCH_PROGRAMS} hotpatch hotpatch_runtime)

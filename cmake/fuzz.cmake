# libFuzzer targets (tests/fuzz/*_fuzz.cpp), built with clang, ASan and UBSan, for
# the parsers that read bytes someone else chose: the patch file and its ELF, the
# control protocol, the registry the target holds, /proc/PID/maps, a --diff.
#
# make test replays each fuzzer's corpus once, deterministically (-runs=0): the seeds
# in tests/fuzz/corpus/NAME (and SEEDS) and whatever `make fuzz` found and kept in
# build/fuzz/NAME.corpus. `make fuzz` fuzzes each for FUZZ_SECONDS (tests/fuzz/run.sh).
find_program(CLANGXX_FOR_FUZZ NAMES clang++ clang++-14)

# hotpatch_fuzzer(NAME SOURCES file... [SEEDS dir...] [LIBS -lx...] [ARGS option...])
function(hotpatch_fuzzer name)
  cmake_parse_arguments(F "" "" "SOURCES;SEEDS;LIBS;ARGS" ${ARGN})
  set(bin ${CMAKE_BINARY_DIR}/fuzz/${name}_fuzz)
  set(sources ${CMAKE_SOURCE_DIR}/tests/fuzz/${name}_fuzz.cpp)
  foreach(s ${F_SOURCES})
    list(APPEND sources ${CMAKE_SOURCE_DIR}/${s})
  endforeach()
  add_custom_command(OUTPUT ${bin}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/fuzz/${name}.corpus
    COMMAND ${CLANGXX_FOR_FUZZ} -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined
            -fno-sanitize-recover=undefined -I${CMAKE_SOURCE_DIR}/src -I${CMAKE_SOURCE_DIR}/include
            -I${CMAKE_BINARY_DIR}/generated
            ${sources} -o ${bin} ${F_LIBS}
    DEPENDS ${sources}
    IMPLICIT_DEPENDS CXX ${sources}  # and the headers they include (Makefile generators)
    COMMENT "Building the ${name} fuzzer (clang, libFuzzer)")
  add_custom_target(${name}_fuzz ALL DEPENDS ${bin})
  set(seeds ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name} ${F_SEEDS})
  add_test(NAME fuzz/${name}
    COMMAND ${bin} -runs=0 -timeout=10 -rss_limit_mb=2048 ${F_ARGS} ${CMAKE_BINARY_DIR}/fuzz/${name}.corpus ${seeds})
  set_tests_properties(fuzz/${name} PROPERTIES LABELS fuzz TIMEOUT 120)
  # For tests/fuzz/run.sh (make fuzz), one line each: name|binary|options|seed dirs
  string(REPLACE ";" " " args "${F_ARGS}")
  string(REPLACE ";" " " seed_list "${seeds}")
  file(APPEND ${CMAKE_BINARY_DIR}/fuzz/targets.txt "${name}|${bin}|${args}|${seed_list}\n")
endfunction()

if(CLANGXX_FOR_FUZZ)
  file(WRITE ${CMAKE_BINARY_DIR}/fuzz/targets.txt "")
  hotpatch_fuzzer(patch_file
    SOURCES src/elf/elf_image.cpp src/elf/patch_file.cpp src/elf/unwind_table.cpp src/common/error.cpp
            src/trust/signature.cpp
    LIBS -lelf -lfmt -lsodium
    SEEDS ${CMAKE_BINARY_DIR}/fixtures  # the unit tests' patches, good and bad
    ARGS -max_len=32768)
  hotpatch_fuzzer(control_protocol SOURCES src/common/control_protocol.cpp ARGS -max_len=4096)
  hotpatch_fuzzer(registry SOURCES src/common/registry.cpp ARGS -max_len=65536)
  hotpatch_fuzzer(maps SOURCES src/loader/address_space.cpp src/common/error.cpp LIBS -lfmt ARGS -max_len=16384)
  hotpatch_fuzzer(diff_hunks SOURCES src/creator/diff_hunks.cpp ARGS -max_len=16384)
  # The signature trailer, key files and the policy file (docs/security.md).
  hotpatch_fuzzer(trust SOURCES src/trust/signature.cpp src/trust/policy.cpp LIBS -lsodium ARGS -max_len=4096)
else()
  message(WARNING "clang++ not found: the fuzz tests are skipped")
endif()

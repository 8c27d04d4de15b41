# A libFuzzer target for the patch-file and ELF readers, seeded with the unit-test
# fixtures (good patches and each kind of bad one); a short run is part of make test.
find_program(CLANGXX_FOR_PATCH_FUZZ NAMES clang++ clang++-14)
if(CLANGXX_FOR_PATCH_FUZZ)
  set(PATCH_FUZZ_BIN ${CMAKE_BINARY_DIR}/fuzz/patch_file_fuzz)
  set(PATCH_FUZZ_SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/patch_file_fuzz.cpp ${CMAKE_SOURCE_DIR}/src/elf/elf_image.cpp
      ${CMAKE_SOURCE_DIR}/src/elf/patch_file.cpp ${CMAKE_SOURCE_DIR}/src/elf/unwind_table.cpp
      ${CMAKE_SOURCE_DIR}/src/common/error.cpp ${CMAKE_SOURCE_DIR}/src/trust/signature.cpp)
  add_custom_command(OUTPUT ${PATCH_FUZZ_BIN}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/fuzz/patch_corpus
    COMMAND ${CLANGXX_FOR_PATCH_FUZZ} -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined
            -fno-sanitize-recover=undefined -I${CMAKE_SOURCE_DIR}/src -I${CMAKE_SOURCE_DIR}/include
            ${PATCH_FUZZ_SOURCES} -o ${PATCH_FUZZ_BIN} -lelf -lfmt -lsodium
    DEPENDS ${PATCH_FUZZ_SOURCES} ${CMAKE_SOURCE_DIR}/src/elf/elf_image.h ${CMAKE_SOURCE_DIR}/src/elf/patch_file.h
    COMMENT "Building the patch-file fuzzer (clang, libFuzzer)")
  add_custom_target(patch_file_fuzz ALL DEPENDS ${PATCH_FUZZ_BIN})
  add_test(NAME fuzz/patch_file
    COMMAND ${PATCH_FUZZ_BIN} -max_total_time=20 -max_len=32768 -timeout=5 -rss_limit_mb=2048
            ${CMAKE_BINARY_DIR}/fuzz/patch_corpus ${CMAKE_BINARY_DIR}/fixtures)
  set_tests_properties(fuzz/patch_file PROPERTIES LABELS fuzz TIMEOUT 120)
else()
  message(WARNING "clang++ not found: the patch-file fuzz test is skipped")
endif()

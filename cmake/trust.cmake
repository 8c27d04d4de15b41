# Trust (docs/security.md): signed patches, the machine's policy, the audit trail.
# src/trust/ is pure code (no exceptions) shared by the CLI and the runtime; the
# runtime checks signatures itself for `lib load`, so it links libsodium statically
# with its symbols hidden (--exclude-libs,ALL): a target gets no new dependency and
# cannot clash with a libsodium of its own.
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
file(GLOB TRUST_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/trust/*.cpp)
target_sources(hotpatch_core PRIVATE ${TRUST_SOURCES})
target_link_libraries(hotpatch_core PUBLIC PkgConfig::SODIUM)

find_library(SODIUM_STATIC_LIBRARY NAMES libsodium.a REQUIRED)
target_sources(hotpatch_runtime PRIVATE ${TRUST_SOURCES})
target_include_directories(hotpatch_runtime PRIVATE ${SODIUM_INCLUDE_DIRS})
target_link_libraries(hotpatch_runtime PRIVATE ${SODIUM_STATIC_LIBRARY})

# Fuzzing the trailer, key and policy parsers (libFuzzer: clang and libclang-rt-14-dev),
# a short run in make test, seeded with tests/fuzz/trust_corpus (signed, tampered and
# truncated trailers, policies, key lines).
find_program(CLANGXX_FOR_TRUST_FUZZ NAMES clang++ clang++-14)
if(CLANGXX_FOR_TRUST_FUZZ)
  set(TRUST_FUZZ_BIN ${CMAKE_BINARY_DIR}/fuzz/trust_fuzz)
  set(TRUST_FUZZ_SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/trust_fuzz.cpp ${CMAKE_SOURCE_DIR}/src/trust/signature.cpp
      ${CMAKE_SOURCE_DIR}/src/trust/policy.cpp)
  add_custom_command(OUTPUT ${TRUST_FUZZ_BIN}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/fuzz/trust_corpus
    COMMAND ${CLANGXX_FOR_TRUST_FUZZ} -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined
            -fno-sanitize-recover=undefined -I${CMAKE_SOURCE_DIR}/src ${TRUST_FUZZ_SOURCES} -o ${TRUST_FUZZ_BIN} -lsodium
    DEPENDS ${TRUST_FUZZ_SOURCES} ${CMAKE_SOURCE_DIR}/src/trust/signature.h ${CMAKE_SOURCE_DIR}/src/trust/policy.h
    COMMENT "Building the trust fuzzer (clang, libFuzzer)")
  add_custom_target(trust_fuzz ALL DEPENDS ${TRUST_FUZZ_BIN})
  add_test(NAME fuzz/trust
    COMMAND ${TRUST_FUZZ_BIN} -max_total_time=20 -max_len=4096 -timeout=5
            ${CMAKE_BINARY_DIR}/fuzz/trust_corpus ${CMAKE_SOURCE_DIR}/tests/fuzz/trust_corpus)
  set_tests_properties(fuzz/trust PROPERTIES LABELS fuzz TIMEOUT 120)
else()
  message(WARNING "clang++ not found: the trust fuzz test is skipped")
endif()

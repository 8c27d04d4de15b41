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

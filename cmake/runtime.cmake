# The cooperative runtime (issue 3, docs/cooperative.md): the control server inside
# libhotpatch.so, the preload library, the examples, the protocol fuzzer.
#
# libhotpatch.so (target hotpatch_runtime, sources src/runtime/*.cpp) also gets the
# pure pieces it shares with the CLI: the registry codec, the control protocol
# parser, the socket path, and the arch code that encodes jumps and stubs (not the
# capstone analysis: the helper command does that, see loader_helper.h). The runtime keeps
# -fno-exceptions -fno-rtti: none of these throw, and a runtime that throws into a
# program built without exception support would take it down.
target_sources(hotpatch_runtime PRIVATE
  ${CMAKE_SOURCE_DIR}/src/common/registry.cpp
  ${CMAKE_SOURCE_DIR}/src/common/control_protocol.cpp
  ${CMAKE_SOURCE_DIR}/src/common/control_socket_path.cpp
  ${CMAKE_SOURCE_DIR}/src/arch/x86_64/x86_64.cpp
  ${CMAKE_SOURCE_DIR}/src/arch/x86_64/preserving_stub.cpp)
# arch.h names RemoteAddr, whose header includes fmt's; only headers are used.
target_include_directories(hotpatch_runtime PRIVATE $<TARGET_PROPERTY:fmt::fmt,INTERFACE_INCLUDE_DIRECTORIES>)
target_compile_definitions(hotpatch_runtime PRIVATE HOTPATCH_VERSION="${PROJECT_VERSION}")
target_link_libraries(hotpatch_runtime PRIVATE pthread dl)

# LD_PRELOAD entry: a constructor that starts the control server. A module that no
# program links (no SONAME), so it is installed in a private directory,
# LIBDIR/hotpatch/ (Debian policy 10.2), and finds libhotpatch.so.0 one level up.
add_library(hotpatch_preload SHARED src/runtime/preload/preload.cpp)
set_target_properties(hotpatch_preload PROPERTIES OUTPUT_NAME hotpatch_preload NO_SONAME ON
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}
  INSTALL_RPATH "$ORIGIN/.." BUILD_RPATH "${CMAKE_BINARY_DIR}")
target_include_directories(hotpatch_preload PRIVATE include)
target_link_libraries(hotpatch_preload PRIVATE hotpatch_runtime)
install(TARGETS hotpatch_preload LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/hotpatch)

# Examples (need Debian's libgflags-dev and libgoogle-glog-dev; the runtime itself
# never links them).
pkg_check_modules(GFLAGS IMPORTED_TARGET gflags)
pkg_check_modules(GLOG IMPORTED_TARGET libglog)
if(GFLAGS_FOUND AND GLOG_FOUND)
  add_executable(simple_server examples/simple_server/simple_server.cpp)
  target_include_directories(simple_server PRIVATE include)
  target_link_libraries(simple_server PRIVATE hotpatch_runtime PkgConfig::GFLAGS PkgConfig::GLOG pthread)
  set_target_properties(simple_server PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/examples
    BUILD_RPATH "${CMAKE_BINARY_DIR}")

  add_executable(prebuilt_server examples/prebuilt_server/prebuilt_server.cpp)
  target_link_libraries(prebuilt_server PRIVATE PkgConfig::GFLAGS PkgConfig::GLOG pthread)
  set_target_properties(prebuilt_server PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/examples)
else()
  message(WARNING "gflags/glog not found (scripts/install-deps.sh installs them): examples and coop tests skipped")
endif()
foreach(patch add_func_patch1 add_func_patch2)
  add_library(${patch} SHARED examples/simple_server/${patch}.cpp)
  set_target_properties(${patch} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/examples)
endforeach()


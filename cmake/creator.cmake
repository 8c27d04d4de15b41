# Build capture for `hotpatch create` (src/creator/capture/): while the project's own
# build runs, libhotpatch_capture.so (LD_PRELOAD) sends every exec of a C/C++
# compiler through hotpatch-cc, which adds the flags the Creator needs and records
# each compile and link. Both sit next to the hotpatch executable in the build tree
# and in LIBEXECDIR/hotpatch when installed (WorkTree looks in both places: beside
# its own executable, then bindir/HOTPATCH_BINDIR_TO_LIBEXECDIR/hotpatch).
add_library(hotpatch_capture SHARED src/creator/capture/exec_capture.c)
set_target_properties(hotpatch_capture PROPERTIES OUTPUT_NAME hotpatch_capture
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR} C_VISIBILITY_PRESET hidden)
target_link_libraries(hotpatch_capture PRIVATE dl)

add_executable(hotpatch_cc src/creator/capture/compile_wrapper.cpp src/creator/compile_args.cpp)
set_target_properties(hotpatch_cc PROPERTIES OUTPUT_NAME hotpatch-cc RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
target_include_directories(hotpatch_cc PRIVATE src)
target_link_libraries(hotpatch_cc PRIVATE nlohmann_json::nlohmann_json)
# create runs the build with them: they must be there whenever hotpatch is.
add_dependencies(hotpatch hotpatch_capture hotpatch_cc)

install(TARGETS hotpatch_capture LIBRARY DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/hotpatch)
install(TARGETS hotpatch_cc RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/hotpatch)
file(RELATIVE_PATH HOTPATCH_BINDIR_TO_LIBEXECDIR "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_LIBEXECDIR}")
target_compile_definitions(hotpatch_core PRIVATE HOTPATCH_BINDIR_TO_LIBEXECDIR="${HOTPATCH_BINDIR_TO_LIBEXECDIR}")

# Installing like Debian software (issue 12): GNUInstallDirs paths (a multiarch libdir
# works), the paths by which the installed CLI and runtime find each other, the
# runtime's CMake package and pkg-config files, man pages, bash completion, docs.
# debian/ builds the package from these rules; `make install PREFIX=...` uses them too.

# --- Where the CLI and the runtime find each other, relative to the install prefix.
file(RELATIVE_PATH HOTPATCH_BINDIR_TO_LIBDIR "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_LIBDIR}")
file(RELATIVE_PATH HOTPATCH_LIBDIR_TO_BINDIR "${CMAKE_INSTALL_FULL_LIBDIR}" "${CMAKE_INSTALL_FULL_BINDIR}")
if(HOTPATCH_BINDIR_TO_LIBDIR STREQUAL "")
  set(HOTPATCH_BINDIR_TO_LIBDIR ".")
endif()
if(HOTPATCH_LIBDIR_TO_BINDIR STREQUAL "")
  set(HOTPATCH_LIBDIR_TO_BINDIR ".")
endif()
set(HOTPATCH_RUNTIME_SONAME "libhotpatch.so.${PROJECT_VERSION_MAJOR}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/install_paths.h.in ${CMAKE_BINARY_DIR}/generated/install_paths.h @ONLY)

# --- `hotpatch --version` names the git commit; refreshed at every build, rewritten
# only when it changed (only src/cli/version.cpp includes it).
set(HOTPATCH_GIT_COMMIT "" CACHE STRING "commit to show in --version when building outside git (default: from git, else unknown)")
add_custom_target(hotpatch_git_commit
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_SOURCE_DIR} -DOUT=${CMAKE_BINARY_DIR}/generated/git_commit.h
          -DCOMMIT_OVERRIDE=${HOTPATCH_GIT_COMMIT} -P ${CMAKE_SOURCE_DIR}/cmake/scripts/git_commit.cmake
  BYPRODUCTS ${CMAKE_BINARY_DIR}/generated/git_commit.h
  COMMENT "" VERBATIM)
add_dependencies(hotpatch hotpatch_git_commit)

# --- Targets users link: hotpatch::runtime (a cooperative service) and hotpatch::patch
# (a patch: the header and -fPIC, no library). Aliases work inside a build tree too.
target_include_directories(hotpatch_runtime INTERFACE
  $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set_target_properties(hotpatch_runtime PROPERTIES EXPORT_NAME runtime)
add_library(hotpatch_patch INTERFACE)
target_include_directories(hotpatch_patch INTERFACE
  $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set_target_properties(hotpatch_patch PROPERTIES EXPORT_NAME patch INTERFACE_POSITION_INDEPENDENT_CODE ON)
add_library(hotpatch::runtime ALIAS hotpatch_runtime)
add_library(hotpatch::patch ALIAS hotpatch_patch)

install(TARGETS hotpatch RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS hotpatch_runtime hotpatch_patch EXPORT hotpatch-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/hotpatch DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

include(CMakePackageConfigHelpers)
set(HOTPATCH_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/hotpatch)
install(EXPORT hotpatch-targets NAMESPACE hotpatch:: DESTINATION ${HOTPATCH_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/hotpatch-config.cmake.in
  ${CMAKE_BINARY_DIR}/cmake-package/hotpatch-config.cmake
  INSTALL_DESTINATION ${HOTPATCH_CMAKE_DIR} PATH_VARS CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmake-package/hotpatch-config-version.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cmake-package/hotpatch-config.cmake
              ${CMAKE_BINARY_DIR}/cmake-package/hotpatch-config-version.cmake
        DESTINATION ${HOTPATCH_CMAKE_DIR})

# --- pkg-config: hotpatch (the runtime: Cflags and Libs) and hotpatch-patch (the
# header only). Written at install time with the prefix the files really go to, as
# absolute paths: pkg-config then drops -I/usr/include itself (a relative
# ${pcfiledir} path would hide it, and -I/usr/include breaks C++'s #include_next).
install(CODE "set(_hp_libdir \"${CMAKE_INSTALL_LIBDIR}\")
set(_hp_includedir \"${CMAKE_INSTALL_INCLUDEDIR}\")
set(_hp_source_dir \"${CMAKE_SOURCE_DIR}\")
set(_hp_binary_dir \"${CMAKE_BINARY_DIR}\")
set(PROJECT_VERSION \"${PROJECT_VERSION}\")")
install(CODE [[
set(PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
foreach(_hp_dir libdir includedir)
  if(IS_ABSOLUTE "${_hp_${_hp_dir}}")
    set(_hp_full_${_hp_dir} "${_hp_${_hp_dir}}")
    string(TOUPPER "PC_${_hp_dir}" _hp_var)
    set(${_hp_var} "${_hp_${_hp_dir}}")
  else()
    set(_hp_full_${_hp_dir} "${CMAKE_INSTALL_PREFIX}/${_hp_${_hp_dir}}")
    string(TOUPPER "PC_${_hp_dir}" _hp_var)
    set(${_hp_var} "\${prefix}/${_hp_${_hp_dir}}")
  endif()
endforeach()
foreach(_hp_pc hotpatch hotpatch-patch)
  configure_file("${_hp_source_dir}/cmake/${_hp_pc}.pc.in" "${_hp_binary_dir}/pkgconfig/${_hp_pc}.pc" @ONLY)
  file(INSTALL DESTINATION "${_hp_full_libdir}/pkgconfig" TYPE FILE FILES "${_hp_binary_dir}/pkgconfig/${_hp_pc}.pc")
endforeach()
]])

# --- Documentation: man pages (man/NAME.SECTION), bash completion, the docs.
file(GLOB HOTPATCH_MAN_PAGES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/man/*.[1-8])
foreach(page ${HOTPATCH_MAN_PAGES})
  string(REGEX REPLACE ".*\\.([1-8])$" "\\1" section ${page})
  install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
if(EXISTS ${CMAKE_SOURCE_DIR}/contrib/bash-completion/hotpatch)
  install(FILES contrib/bash-completion/hotpatch DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
endif()
file(GLOB HOTPATCH_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES README.md ${HOTPATCH_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})

# --- The agent's systemd unit (contrib/systemd/hotpatch-agent.service names
# /usr/bin/hotpatch): installed with the bindir the files really go to, like the
# pkg-config files. systemd reads PREFIX/lib/systemd/system for /usr/local too;
# Debian passes /lib/systemd/system.
set(HOTPATCH_SYSTEMD_UNITDIR "lib/systemd/system" CACHE PATH "where the agent's systemd unit goes (relative: under the prefix)")
if(EXISTS ${CMAKE_SOURCE_DIR}/contrib/systemd/hotpatch-agent.service)
  install(CODE "set(_hp_unitdir \"${HOTPATCH_SYSTEMD_UNITDIR}\")
set(_hp_bindir \"${CMAKE_INSTALL_BINDIR}\")")
  install(CODE [[
foreach(_hp_dir unitdir bindir)
  if(NOT IS_ABSOLUTE "${_hp_${_hp_dir}}")
    set(_hp_${_hp_dir} "${CMAKE_INSTALL_PREFIX}/${_hp_${_hp_dir}}")
  endif()
endforeach()
file(READ "${_hp_source_dir}/contrib/systemd/hotpatch-agent.service" _hp_unit)
string(REPLACE "/usr/bin/hotpatch" "${_hp_bindir}/hotpatch" _hp_unit "${_hp_unit}")
file(WRITE "${_hp_binary_dir}/systemd/hotpatch-agent.service" "${_hp_unit}")
file(INSTALL DESTINATION "${_hp_unitdir}" TYPE FILE FILES "${_hp_binary_dir}/systemd/hotpatch-agent.service")
]])
endif()

# --- e2e/pkg_deb builds the packages (make deb): its first run compiles the CLI and
# the runtime with Debian's flags, minutes on a loaded 2-core machine; later runs
# reuse BUILD/deb/obj. It gets a longer timeout than the other cases (set once the
# e2e tests exist: they are added after this file is read).
cmake_language(DEFER CALL set_tests_properties e2e/pkg_deb PROPERTIES TIMEOUT 1500
  ENVIRONMENT_MODIFICATION "E2E_CASE_TIMEOUT=set:1480")
# e2e/pkg_ansible runs ansible-playbook four times: ~10 s of CPU, but each Python
# start-up takes tens of seconds on a machine at load 30.
cmake_language(DEFER CALL set_tests_properties e2e/pkg_ansible PROPERTIES TIMEOUT 600
  ENVIRONMENT_MODIFICATION "E2E_CASE_TIMEOUT=set:580")

# Run at every build (cmake -P): writes OUT with the source tree's git commit, and
# rewrites it only when the commit changed, so an unchanged tree rebuilds nothing.
#   -DSOURCE_DIR=... -DOUT=... [-DCOMMIT_OVERRIDE=...]
# Outside a git checkout (a release tarball, a Debian source package) the commit is
# "unknown" unless the packager passes one (-DHOTPATCH_GIT_COMMIT=...).
set(commit "unknown")
if(COMMIT_OVERRIDE)
  set(commit "${COMMIT_OVERRIDE}")
else()
  find_program(GIT_EXECUTABLE git)
  if(GIT_EXECUTABLE AND EXISTS "${SOURCE_DIR}/.git")
    execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                    OUTPUT_VARIABLE head RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(rc EQUAL 0 AND head)
      set(commit "${head}")
      # Tracked files changed since that commit: say so, the binary is not that commit.
      execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" diff --quiet HEAD --
                      RESULT_VARIABLE dirty ERROR_QUIET)
      if(NOT dirty EQUAL 0)
        string(APPEND commit "-dirty")
      endif()
    endif()
  endif()
endif()
set(content "/* Generated at build time by cmake/scripts/git_commit.cmake */\n#define HOTPATCH_GIT_COMMIT \"${commit}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL content)
  file(WRITE "${OUT}" "${content}")
endif()

#include "cli/version.h"

#include <fmt/core.h>

#include "common/error.h"
#include "git_commit.h"  // generated at build time (cmake/scripts/git_commit.cmake)
#include "loader/runtime_registry.h"

namespace hotpatch::cli {

std::string version_text() {
  std::string runtime;
  try {
    runtime = locate_runtime_library();
  } catch (const Error& e) {
    runtime = fmt::format("not found ({})", e.what());
  }
  // The commit is "unknown" when built outside git; "-dirty" when files differed from it.
  return fmt::format("hotpatch {}\ncommit {}\nruntime {}", HOTPATCH_VERSION, HOTPATCH_GIT_COMMIT, runtime);
}

}  // namespace hotpatch::cli

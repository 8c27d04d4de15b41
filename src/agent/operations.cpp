#include "agent/operations.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include "common/error.h"
#include "loader/runtime_registry.h"

namespace hotpatch::ops {

PatchFile accept_patch_file(const std::string& path) {
  PatchFile patch = read_patch_file(path);
  check_file_is_trusted(patch.path);
  return patch;
}

ApplyOutcome apply_once(pid_t pid, const PatchFile& patch, std::chrono::milliseconds timeout, const std::string& replace) {
  Patcher patcher(pid);
  // A record a killed hotpatch left half done is finished first, so that "already
  // applied" is only ever said of a patch that is whole.
  patcher.finish_interrupted(timeout);
  Registry reg = patcher.applied();
  ApplyOutcome outcome;
  if (const PatchRecord* p = reg.find(patch.id)) {
    struct stat st{};
    bool same_file = p->path == patch.path && ::stat(patch.path.c_str(), &st) == 0 &&
                     static_cast<uint64_t>(st.st_mtime) <= p->applied_unix;
    if (!same_file) {
      throw Error(ErrorKind::Conflict,
                  fmt::format("process {}: a patch with id '{}' is already applied from {}{} (revert it first, or give "
                              "the new one another HOTPATCH_ID)",
                              pid, patch.id, p->path, p->path == patch.path ? ", and the file changed since" : ""));
    }
    outcome.already_applied = true;
    outcome.existing = *p;
    return outcome;
  }
  outcome.report = patcher.apply(patch, timeout, replace);
  return outcome;
}

}  // namespace hotpatch::ops

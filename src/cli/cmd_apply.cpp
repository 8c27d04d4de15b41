#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/format.h"
#include "elf/patch_file.h"
#include "loader/patcher.h"

namespace hotpatch::cli {

int cmd_apply(const ApplyOptions& opts, Output& out) {
  // The patch file is read and checked before the process is even looked at.
  PatchFile patch = read_patch_file(opts.patch_path);
  Patcher patcher(opts.pid);
  ApplyReport r = patcher.apply(patch, std::chrono::milliseconds(opts.timeout_ms), opts.replace);
  if (out.json) {
    out.doc = stop_json(r);
    out.doc["applied"] = patch_json(r.record);
    out.doc["notes"] = r.notes;
    if (!r.replaced.empty()) out.doc["replaced"] = r.replaced;
  } else {
    fmt::print("applied {}{}: {}\n", patch.id, r.replaced.empty() ? "" : " in place of " + r.replaced, stop_summary(r));
    for (const auto& note : r.notes) fmt::print("note: {}\n", note);
  }
  return 0;
}

}  // namespace hotpatch::cli

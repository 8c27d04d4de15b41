#include <fmt/core.h>

#include "agent/operations.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "common/verbose.h"

namespace hotpatch::cli {

int cmd_apply(const Targets& targets, const ApplyOptions& opts, Output& out) {
  // The patch file is read and checked before any process is even looked at.
  PatchFile patch = ops::accept_patch_file(opts.patch_path);
  verbose::step(fmt::format("read {}: patch '{}', {}", patch.path, patch.id, plural(patch.replacements.size(), "function")));
  auto pids = select_processes(targets.selection, Purpose::Patch, &patch);
  verbose::step(fmt::format("{} selected", plural(pids.size(), "process")));
  const auto timeout = std::chrono::milliseconds(opts.timeout_ms);
  return run_on_processes(targets.selection, pids, {"apply", targets.keep_going}, out, [&](pid_t pid) {
    ops::ApplyOutcome o = ops::apply_once(pid, patch, timeout, opts.replace);
    ProcessResult r;
    if (o.already_applied) {
      r.status = "already-applied";
      r.lines.push_back(fmt::format("already applied {} (since {})", patch.id, iso_time(o.existing.applied_unix)));
      r.json["applied"] = patch_json(o.existing);
      r.json["notes"] = nlohmann::json::array();
      return r;
    }
    r.status = "applied";
    // --replace: the patch it superseded in the same stop (docs/creator.md#cumulative-patches-and-replace).
    const std::string& replaced = o.report.replaced;
    r.lines.push_back(fmt::format("applied {}{}: {}", patch.id, replaced.empty() ? "" : " in place of " + replaced,
                                  stop_summary(o.report)));
    for (const auto& note : o.report.notes) r.lines.push_back("note: " + note);
    r.json = stop_json(o.report);
    r.json["applied"] = patch_json(o.report.record);
    r.json["notes"] = o.report.notes;
    if (!replaced.empty()) r.json["replaced"] = replaced;
    return r;
  });
}

}  // namespace hotpatch::cli

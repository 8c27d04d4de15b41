// `hotpatch TARGETS check PATCH`: would apply succeed now, and if not, why not. A dry
// run of apply (ops::check_apply): exit status and --json as apply's.
#include <fmt/core.h>

#include "agent/operations.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "common/verbose.h"

namespace hotpatch::cli {

int cmd_check(const Targets& targets, const ApplyOptions& opts, Output& out) {
  PatchFile patch = ops::accept_patch_file(opts.patch_path, "check");
  verbose::step(fmt::format("read {}: patch '{}', {}", patch.path, patch.id, plural(patch.replacements.size(), "function")));
  auto pids = select_processes(targets.selection, Purpose::Patch, &patch);
  const auto timeout = std::chrono::milliseconds(opts.timeout_ms);
  return run_on_processes(targets.selection, pids, {"check", targets.keep_going}, out, [&](pid_t pid) {
    ops::CheckOutcome o = ops::check_apply(pid, patch, timeout);
    ProcessResult r;
    nlohmann::json functions = nlohmann::json::array();
    for (const auto& f : o.functions) {
      nlohmann::json j = {{"symbol", f.symbol}, {"address", fmt::format("{:#x}", f.address)}, {"object", f.object}};
      if (!f.stacked_on.empty()) j["stacked_on"] = f.stacked_on;
      functions.push_back(j);
    }
    r.json["check"] = {{"functions", functions},
                       {"threads", o.stop.threads},
                       {"attempts", o.stop.attempts},
                       {"pause_us", o.stop.pause.count()},
                       {"runtime_loaded", o.runtime_loaded}};
    r.json["notes"] = o.notes;
    if (o.already_applied) {
      r.status = "already-applied";
      r.lines.push_back(fmt::format("already applied {} (since {}): apply would do nothing", patch.id,
                                    iso_time(o.existing.applied_unix)));
      return r;
    }
    r.status = "would-apply";
    std::string stacked;
    for (const auto& f : o.functions)
      if (!f.stacked_on.empty()) stacked += fmt::format(", '{}' on top of patch '{}'", f.symbol, f.stacked_on);
    r.lines.push_back(fmt::format("would apply {}: {} idle, {}, checked in {} (paused {} us){}{}", patch.id,
                                  plural(o.functions.size(), "function"), plural(o.stop.threads, "thread"),
                                  plural(o.stop.attempts, "attempt"), o.stop.pause.count(),
                                  o.runtime_loaded ? "" : "; the runtime would be loaded first", stacked));
    for (const auto& note : o.notes) r.lines.push_back("note: " + note);
    return r;
  });
}

}  // namespace hotpatch::cli

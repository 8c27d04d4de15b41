#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/format.h"
#include "loader/patcher.h"

namespace hotpatch::cli {

int cmd_revert(const Targets& targets, const RevertOptions& opts, Output& out) {
  auto pids = select_processes(targets.selection, Purpose::Inspect, nullptr);
  const auto timeout = std::chrono::milliseconds(opts.timeout_ms);
  // A process picked by program or by `all` that lacks the patch has nothing to
  // revert: that is not an error (revert there is idempotent). A pid given by
  // number must have it (exit 7 otherwise), as it always had to.
  const bool by_number = targets.selection.kind == Selection::Kind::Single || targets.selection.kind == Selection::Kind::List;
  return run_on_processes(targets.selection, pids, {"revert", targets.keep_going}, out, [&](pid_t pid) {
    Patcher patcher(pid);
    ProcessResult r;
    std::vector<RevertReport> reports;
    if (opts.all) {
      reports = patcher.revert_all(timeout);
    } else {
      if (!by_number) {
        patcher.finish_interrupted(timeout);
        if (!patcher.applied().find(opts.id)) {
          r.status = "not-applied";
          r.lines.push_back(fmt::format("not applied: {}", opts.id));
          r.json["reverted"] = nlohmann::json::array();
          return r;
        }
      }
      reports.push_back(patcher.revert(opts.id, timeout));
    }
    r.status = "reverted";
    r.json["reverted"] = nlohmann::json::array();
    for (const auto& rep : reports) {
      auto j = stop_json(rep);
      j["id"] = rep.id;
      r.json["reverted"].push_back(j);
      r.lines.push_back(fmt::format("reverted {}: {}", rep.id, stop_summary(rep)));
    }
    if (reports.empty()) r.lines.push_back("nothing to revert");
    return r;
  });
}

}  // namespace hotpatch::cli

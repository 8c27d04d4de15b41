#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/format.h"
#include "loader/patcher.h"

namespace hotpatch::cli {

int cmd_revert(const RevertOptions& opts, Output& out) {
  Patcher patcher(opts.pid);
  std::vector<RevertReport> reports;
  if (opts.all) {
    reports = patcher.revert_all(std::chrono::milliseconds(opts.timeout_ms));
  } else {
    reports.push_back(patcher.revert(opts.id, std::chrono::milliseconds(opts.timeout_ms)));
  }
  if (out.json) {
    out.doc["reverted"] = nlohmann::json::array();
    for (const auto& r : reports) {
      auto j = stop_json(r);
      j["id"] = r.id;
      out.doc["reverted"].push_back(j);
    }
  } else if (reports.empty()) {
    fmt::print("nothing to revert\n");
  } else {
    for (const auto& r : reports) fmt::print("reverted {}: {}\n", r.id, stop_summary(r));
  }
  return 0;
}

}  // namespace hotpatch::cli

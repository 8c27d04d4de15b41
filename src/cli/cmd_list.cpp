#include <fmt/core.h>

#include "arch/arch.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "loader/patcher.h"

namespace hotpatch::cli {

int cmd_list(int pid, Output& out) {
  Patcher patcher(pid);
  Registry reg = patcher.applied();
  if (out.json) {
    out.doc["pid"] = pid;
    out.doc["patches"] = nlohmann::json::array();
    for (const auto& p : reg.patches) out.doc["patches"].push_back(patch_json(p));
    return 0;
  }
  if (reg.patches.empty()) {
    fmt::print("no patches applied\n");
    return 0;
  }
  for (const auto& p : reg.patches) {
    fmt::print("{}  applied {}  {}\n", p.id, iso_time(p.applied_unix), p.path);
    for (const auto& r : p.redirects) {
      std::string via;
      if (r.preserved) via = " via stub keeping " + arch::RegisterSet::from_mask(r.preserved).names();
      else if (r.stub) via = " via stub";
      fmt::print("  {} ({:#x}) -> {} ({:#x}){}\n", r.symbol, r.target, r.replacement_name.empty() ? "?" : r.replacement_name,
                 r.replacement, via);
    }
    for (uint64_t table : p.unwind_tables) fmt::print("  unwind tables registered at {:#x}\n", table);
    if (!p.description.empty()) fmt::print("  description: {}\n", p.description);
  }
  return 0;
}

}  // namespace hotpatch::cli

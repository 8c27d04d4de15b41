// `hotpatch status`: every process on the machine that has the runtime loaded, with
// the patches applied to it. Reads only: finishes nothing, stops no thread.
#include <unistd.h>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "agent/proc_scan.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "common/error.h"
#include "loader/patcher.h"

namespace hotpatch::cli {

int cmd_status(Output& out) {
  nlohmann::json processes = nlohmann::json::array();
  size_t shown = 0;
  for (pid_t pid : ops::all_processes()) {
    // The program before and after: a process caught between fork() and execve()
    // still maps its parent's runtime, and one moment later runs another program.
    auto program = ops::exe_id(pid);
    if (!program || !ops::maps_runtime(pid)) continue;
    Registry reg;
    std::string exe;
    try {
      Patcher patcher(pid);
      reg = patcher.applied();
      char buf[4096];
      ssize_t n = ::readlink(fmt::format("/proc/{}/exe", pid).c_str(), buf, sizeof buf - 1);
      exe = n > 0 ? std::string(buf, n) : "?";
    } catch (const Error&) {
      continue;  // gone meanwhile, or not ours to read
    }
    if (ops::exe_id(pid) != program) continue;
    ++shown;
    if (out.json) {
      nlohmann::json patches = nlohmann::json::array();
      for (const auto& p : reg.patches) patches.push_back(patch_json(p));
      processes.push_back({{"pid", pid}, {"exe", exe}, {"patches", patches}});
    } else if (!out.quiet) {
      std::vector<std::string> ids;
      for (const auto& p : reg.patches) ids.push_back(p.id + (p.state == PatchState::Applied ? "" : " (INTERRUPTED)"));
      fmt::print("{:>7}  {}  {}\n", pid, exe, ids.empty() ? "-" : fmt::format("{}", fmt::join(ids, ", ")));
    }
  }
  if (out.json) out.doc["processes"] = std::move(processes);
  else if (!out.quiet && shown == 0) fmt::print("no process has the hotpatch runtime loaded\n");
  return 0;
}

}  // namespace hotpatch::cli

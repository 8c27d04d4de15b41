#include <fmt/core.h>

#include "arch/arch.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "common/error.h"
#include "loader/patcher.h"

namespace hotpatch::cli {

namespace {

// How long list waits to finish what a killed CLI left half done (it is not
// expected to wait at all: the functions were inactive moments before).
constexpr std::chrono::milliseconds kFinishTimeout(5000);

std::string state_note(PatchState state) {
  switch (state) {
    case PatchState::Applied: return "";
    case PatchState::Applying: return "  (INTERRUPTED while applying: run apply, revert or list again)";
    case PatchState::Reverting: return "  (INTERRUPTED while reverting: run revert or list again)";
  }
  return "";
}

// One process's patches as list prints them.
ProcessResult list_one(pid_t pid) {
  Patcher patcher(pid);
  // A patch is listed fully applied or not at all: finish first what a killed
  // hotpatch left half done. If that cannot be done now, say so and list it as it is.
  try {
    patcher.finish_interrupted(kFinishTimeout);
  } catch (const Error& e) {
    fmt::print(stderr, "hotpatch: warning: {}\n", e.what());
  }
  Registry reg = patcher.applied();
  const ShadowStats shadows = patcher.shadow_stats();
  const Patcher::KeptCode kept = patcher.kept_code();
  ProcessResult r;
  r.status = "listed";
  r.json["patches"] = nlohmann::json::array();
  for (const auto& p : reg.patches) r.json["patches"].push_back(patch_json(p));
  // docs/creator.md#shadow-variables: what patches attached to the program's objects.
  r.json["shadow"] = {{"live", shadows.live}, {"bytes", shadows.bytes}};
  // docs/cli.md#revert: a reverted patch's code and data stay mapped.
  r.json["kept"] = {{"copies", kept.copies}, {"bytes", kept.bytes}};
  if (reg.patches.empty()) r.lines.push_back("no patches applied");
  for (const auto& p : reg.patches) {
    r.lines.push_back(fmt::format("{}  applied {}  {}{}", p.id, iso_time(p.applied_unix), p.path, state_note(p.state)));
    for (const auto& d : p.redirects) {
      std::string via;
      if (d.preserved) via = " via stub keeping " + arch::RegisterSet::from_mask(d.preserved).names();
      else if (d.stub) via = " via stub";
      r.lines.push_back(fmt::format("  {} ({:#x}) -> {} ({:#x}){}", d.symbol, d.target,
                                    d.replacement_name.empty() ? "?" : d.replacement_name, d.replacement, via));
    }
    for (uint64_t table : p.unwind_tables) r.lines.push_back(fmt::format("  unwind tables registered at {:#x}", table));
    if (!p.description.empty()) r.lines.push_back(fmt::format("  description: {}", p.description));
  }
  if (shadows.live) r.lines.push_back(fmt::format("shadow variables: {} live ({} bytes)", shadows.live, shadows.bytes));
  if (kept.copies)
    r.lines.push_back(fmt::format("kept mapped: {} reverted patch cop{} ({} bytes)", kept.copies,
                                  kept.copies == 1 ? "y" : "ies", kept.bytes));
  return r;
}

}  // namespace

int cmd_list(const Targets& targets, Output& out) {
  auto pids = select_processes(targets.selection, Purpose::Inspect, nullptr);
  return run_on_processes(targets.selection, pids, {"list", targets.keep_going}, out, list_one);
}

}  // namespace hotpatch::cli

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

}  // namespace

int cmd_list(int pid, Output& out) {
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
  if (out.json) {
    out.doc["pid"] = pid;
    out.doc["patches"] = nlohmann::json::array();
    for (const auto& p : reg.patches) out.doc["patches"].push_back(patch_json(p));
    out.doc["shadow"] = {{"live", shadows.live}, {"bytes", shadows.bytes}};
    return 0;
  }
  // docs/creator.md#shadow-variables: what patches attached to the program's objects.
  auto print_shadows = [&] {
    if (shadows.live) fmt::print("shadow variables: {} live ({} bytes)\n", shadows.live, shadows.bytes);
  };
  if (reg.patches.empty()) {
    fmt::print("no patches applied\n");
    print_shadows();
    return 0;
  }
  for (const auto& p : reg.patches) {
    fmt::print("{}  applied {}  {}{}\n", p.id, iso_time(p.applied_unix), p.path, state_note(p.state));
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
  print_shadows();
  return 0;
}

}  // namespace hotpatch::cli

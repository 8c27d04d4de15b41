#include "cli/format.h"

#include "arch/arch.h"

#include <ctime>

#include <fmt/format.h>

namespace hotpatch::cli {

std::string plural(size_t n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }

std::string stop_summary(const StopReport& r) {
  return fmt::format("{}, {}, paused {} us ({}, longest thread {})", plural(r.functions, "function"),
                     plural(r.attempts, "attempt"), r.pause.count(), plural(r.threads, "thread"), r.pause_thread);
}

nlohmann::json stop_json(const StopReport& r) {
  return {{"functions", r.functions}, {"attempts", r.attempts}, {"pause_us", r.pause.count()}, {"pause_thread", r.pause_thread}, {"threads", r.threads}};
}

std::string iso_time(uint64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json patch_json(const PatchRecord& p) {
  nlohmann::json functions = nlohmann::json::array();
  for (const auto& r : p.redirects) {
    functions.push_back({{"symbol", r.symbol},
                         {"address", fmt::format("{:#x}", r.target)},
                         {"replacement", r.replacement_name},
                         {"replacement_address", fmt::format("{:#x}", r.replacement)},
                         {"via_stub", r.stub != 0},
                         {"stub", r.stub ? fmt::format("{:#x}", r.stub) : ""},
                         {"preserved_registers", arch::RegisterSet::from_mask(r.preserved).names()}});
  }
  const char* state = p.state == PatchState::Applied    ? "applied"
                      : p.state == PatchState::Applying ? "interrupted-applying"
                                                        : "interrupted-reverting";
  nlohmann::json unwind_tables = nlohmann::json::array();
  for (uint64_t t : p.unwind_tables) unwind_tables.push_back(fmt::format("{:#x}", t));
  return {{"id", p.id},
          {"description", p.description},
          {"path", p.path},
          {"applied", iso_time(p.applied_unix)},
          {"state", state},
          {"functions", functions},
          {"unwind_tables", unwind_tables}};
}

}  // namespace hotpatch::cli

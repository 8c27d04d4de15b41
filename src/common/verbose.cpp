#include "common/verbose.h"

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

namespace hotpatch::verbose {

namespace {
bool g_enabled = false;
const auto g_start = std::chrono::steady_clock::now();
}  // namespace

void enable() { g_enabled = true; }
bool enabled() { return g_enabled; }

void step(const std::string& what) {
  if (!g_enabled) return;
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - g_start).count();
  fmt::print(stderr, "hotpatch: [{:10.3f} ms] {}\n", ms, what);
  std::fflush(stderr);
}

}  // namespace hotpatch::verbose

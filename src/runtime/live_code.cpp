#include "runtime/live_code.h"

#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "arch/arch.h"
#include "runtime/loader_helper.h"
#include "runtime/reply.h"

namespace hotpatch::runtime {

namespace {

constexpr int kHelperSlackMs = 20000;  // the helper's own start-up and symbol reading

std::string hex_bytes(const std::vector<uint8_t>& bytes) {
  std::string out;
  char buf[4];
  for (uint8_t b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}

std::string range_argument(const CodeRange& r) {
  return hex(r.start) + "-" + hex(r.end) + (r.label.empty() ? "" : "=" + r.label);
}

// The helper wrote through /proc/PID/mem while every thread was stopped; stopping and
// resuming a thread goes through the kernel, but only membarrier(SYNC_CORE) promises
// each core a serialising instruction before it runs user code again (Intel SDM,
// cross-modifying code). Best effort: kernels without it (< 4.16) still resumed the
// threads through the kernel.
void serialize_all_cores() {
  static const bool registered = [] {
    long supported = ::syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    return supported > 0 && (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) &&
           ::syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) == 0;
  }();
  if (registered) ::syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0);
}

// --- page protections ------------------------------------------------------------------

struct MapsEntry {
  uintptr_t start = 0, end = 0;
  int prot = 0;
  std::string name;
};

std::vector<MapsEntry> read_own_maps() {
  std::vector<MapsEntry> out;
  FILE* f = std::fopen("/proc/self/maps", "re");
  if (!f) return out;
  char line[4096];
  while (std::fgets(line, sizeof line, f)) {
    MapsEntry e;
    char perms[8] = {};
    int name_at = 0;
    unsigned long start, end;
    if (std::sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &name_at) < 3) continue;
    e.start = start;
    e.end = end;
    e.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) | (perms[2] == 'x' ? PROT_EXEC : 0);
    if (name_at > 0) {
      e.name = line + name_at;
      while (!e.name.empty() && (e.name.back() == '\n' || e.name.back() == ' ')) e.name.pop_back();
    }
    out.push_back(e);
  }
  std::fclose(f);
  return out;
}

}  // namespace

bool LiveCodeWriter::replace(const CodeChange& change, int timeout_ms, CodeChangeReport& report, std::string& error) {
  if (change.bytes.size() != change.expected.size() || (change.bytes.empty() && change.probes.empty())) {
    error = "internal: replacement of a different size, or nothing to do";
    return false;
  }
  std::vector<std::string> args = {"write-code", "--timeout", std::to_string(timeout_ms),
                                   // this thread waits in LoaderHelper::run, its stack full of the addresses asked about
                                   "--waiting-thread", std::to_string(::gettid())};
  if (!change.bytes.empty())
    args.insert(args.end(), {"--at", hex(change.site), "--expect", hex_bytes(change.expected), "--bytes",
                             hex_bytes(change.bytes)});
  for (const auto& g : change.guarded) {
    args.push_back("--guard");
    args.push_back(range_argument(g));
  }
  for (const auto& p : change.probes) {
    args.push_back("--probe");
    args.push_back(range_argument(p));
  }
  std::vector<std::string> output;
  if (!LoaderHelper::run(args, timeout_ms + kHelperSlackMs, output, error)) return false;
  serialize_all_cores();
  report = {};
  for (const auto& line : output) {
    if (line.rfind("written ", 0) == 0 || line.rfind("probed: ", 0) == 0) report.summary = line;
    for (const auto& p : change.probes)
      if (line == "probe " + hex(p.start) + "-" + hex(p.end) + " unused") report.probe_unused.push_back(true);
      else if (line.rfind("probe " + hex(p.start) + "-" + hex(p.end) + " in use", 0) == 0) report.probe_unused.push_back(false);
  }
  report.probe_unused.resize(change.probes.size(), false);  // unknown counts as in use
  return true;
}

std::optional<uint64_t> LiveCodeWriter::registers_to_preserve(uintptr_t old_function, uintptr_t new_function,
                                                              std::string& names, std::string& error) {
  std::vector<std::string> output;
  if (!LoaderHelper::run({"preserved-registers", "--old", hex(old_function), "--new", hex(new_function)},
                         kHelperSlackMs, output, error))
    return std::nullopt;
  for (const auto& line : output) {
    unsigned long long mask = 0;
    int names_at = 0;
    if (std::sscanf(line.c_str(), "preserve %llx %n", &mask, &names_at) == 1) {
      names = mask ? line.substr(names_at) : "";
      return mask;
    }
  }
  error = "the helper did not say which registers to preserve";
  return std::nullopt;
}

std::optional<uintptr_t> StubPages::map_near(uintptr_t near, const std::vector<uint8_t>& code, std::string& error) {
  auto maps = read_own_maps();
  const int64_t reach = arch::kNearJumpReach - 2 * static_cast<int64_t>(kPageSize);
  uintptr_t best = 0;
  uint64_t best_distance = UINT64_MAX;
  uintptr_t low_limit = 0x10000;  // above vm.mmap_min_addr
  for (size_t i = 0; i + 1 < maps.size(); ++i) {
    uintptr_t gap_start = maps[i].end, gap_end = maps[i + 1].start;
    // Never right above the heap (brk grows there) nor right below the stack.
    if (maps[i].name == "[heap]" || maps[i + 1].name == "[stack]") continue;
    if (gap_end <= gap_start || gap_end - gap_start < kPageSize || gap_start < low_limit) continue;
    uintptr_t candidate = near < gap_start ? gap_start : gap_end - kPageSize;
    uint64_t distance = candidate > near ? candidate - near : near - candidate;
    if (static_cast<int64_t>(distance) < reach && distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (!best) {
    error = "no free address space within jump reach of the function";
    return std::nullopt;
  }
  void* p = ::mmap(reinterpret_cast<void*>(best), kPageSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED || reinterpret_cast<uintptr_t>(p) != best) {
    if (p != MAP_FAILED) ::munmap(p, kPageSize);
    error = std::string("cannot map a stub page near the function: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::memcpy(p, code.data(), code.size());
  ::mprotect(p, kPageSize, PROT_READ | PROT_EXEC);
  return best;
}

void StubPages::unmap(uintptr_t page) { ::munmap(reinterpret_cast<void*>(page), kPageSize); }

}  // namespace hotpatch::runtime

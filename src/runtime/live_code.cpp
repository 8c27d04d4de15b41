#include "runtime/live_code.h"

#include <linux/membarrier.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "arch/arch.h"
#include "arch/signal_context.h"

namespace hotpatch::runtime {

namespace {

// --- serialising every core ---------------------------------------------------------

int membarrier(int cmd) { return static_cast<int>(::syscall(__NR_membarrier, cmd, 0, 0)); }

// After it returns, every thread of the process has executed a serialising
// instruction, so none can still run stale instructions fetched before our write.
bool serialize_all_cores(std::string& error) {
  static std::once_flag registered;
  static bool available = false;
  std::call_once(registered, [] {
    int supported = membarrier(MEMBARRIER_CMD_QUERY);
    available = supported > 0 && (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) &&
                membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) == 0;
  });
  if (!available) {
    error = "this kernel has no membarrier(PRIVATE_EXPEDITED_SYNC_CORE) (Linux >= 4.16); cannot change running code safely";
    return false;
  }
  if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) != 0) {
    error = std::string("membarrier(SYNC_CORE): ") + std::strerror(errno);
    return false;
  }
  return true;
}

// --- the breakpoint detour ------------------------------------------------------------

// Sites being written, and where a thread that traps on one goes. Read by the SIGTRAP
// handler, so plain atomics in a fixed table, no locks, no allocation. Entries stay
// after the write: a thread that trapped may get its signal delivered late (after
// being descheduled), and must still find its way.
constexpr size_t kDetourSlots = 256;
std::atomic<uintptr_t> detour_site[kDetourSlots];
std::atomic<uintptr_t> detour_target[kDetourSlots];
std::atomic<size_t> detour_next{0};

struct sigaction previous_sigtrap;
std::mutex handler_lock;

void on_sigtrap(int sig, siginfo_t* info, void* ucontext) {
  uintptr_t pc = arch::signal_context_pc(ucontext);
  for (size_t i = 0; i < kDetourSlots; ++i) {
    uintptr_t site = detour_site[i].load(std::memory_order_acquire);
    if (site && arch::pc_after_breakpoint(site) == pc) {
      arch::set_signal_context_pc(ucontext, detour_target[i].load(std::memory_order_acquire));
      return;
    }
  }
  // Not ours: whatever the program (or its debugger setup) had.
  if (previous_sigtrap.sa_flags & SA_SIGINFO) {
    if (previous_sigtrap.sa_sigaction) previous_sigtrap.sa_sigaction(sig, info, ucontext);
    return;
  }
  if (previous_sigtrap.sa_handler == SIG_IGN) return;
  if (previous_sigtrap.sa_handler == SIG_DFL) {
    ::signal(SIGTRAP, SIG_DFL);
    ::raise(SIGTRAP);
    return;
  }
  previous_sigtrap.sa_handler(sig);
}

// Installs on_sigtrap unless it is already the handler. It then stays: see above.
bool install_sigtrap_handler(std::string& error) {
  std::lock_guard<std::mutex> guard(handler_lock);
  struct sigaction current{};
  if (::sigaction(SIGTRAP, nullptr, &current) != 0) {
    error = std::string("sigaction(SIGTRAP): ") + std::strerror(errno);
    return false;
  }
  if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == on_sigtrap) return true;
  struct sigaction ours{};
  ours.sa_sigaction = on_sigtrap;
  ours.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
  sigemptyset(&ours.sa_mask);
  previous_sigtrap = current;
  if (::sigaction(SIGTRAP, &ours, nullptr) != 0) {
    error = std::string("sigaction(SIGTRAP): ") + std::strerror(errno);
    return false;
  }
  return true;
}

void set_detour(uintptr_t site, uintptr_t target) {
  for (size_t i = 0; i < kDetourSlots; ++i)
    if (detour_site[i].load() == site) {
      detour_target[i].store(target, std::memory_order_release);
      return;
    }
  size_t i = detour_next.fetch_add(1) % kDetourSlots;
  detour_site[i].store(0, std::memory_order_release);
  detour_target[i].store(target, std::memory_order_release);
  detour_site[i].store(site, std::memory_order_release);
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

// Makes [addr, addr+len) writable while keeping it executable (other threads run
// it meanwhile), and puts every page's protection back on destruction.
class WritableCode {
 public:
  WritableCode(uintptr_t addr, size_t len) {
    uintptr_t page = ::sysconf(_SC_PAGESIZE);
    uintptr_t first = addr & ~(page - 1), last = (addr + len - 1) & ~(page - 1);
    auto maps = read_own_maps();
    for (uintptr_t p = first; p <= last; p += page) {
      int prot = -1;
      for (const auto& m : maps)
        if (p >= m.start && p < m.end) prot = m.prot;
      if (prot < 0) {
        error_ = "address " + std::to_string(p) + " is not mapped";
        return;
      }
      if (::mprotect(reinterpret_cast<void*>(p), page, prot | PROT_WRITE | PROT_EXEC) != 0) {
        error_ = std::string("mprotect(+write): ") + std::strerror(errno);
        return;
      }
      pages_.push_back({p, prot});
    }
  }
  ~WritableCode() {
    uintptr_t page = ::sysconf(_SC_PAGESIZE);
    for (const auto& [p, prot] : pages_) ::mprotect(reinterpret_cast<void*>(p), page, prot);
  }
  const std::string& error() const { return error_; }

 private:
  std::vector<std::pair<uintptr_t, int>> pages_;
  std::string error_;
};

std::mutex writer_lock;  // one code change at a time

}  // namespace

bool LiveCodeWriter::replace(uintptr_t site, const std::vector<uint8_t>& expected, const std::vector<uint8_t>& bytes,
                             uintptr_t detour, std::string& error) {
  std::lock_guard<std::mutex> guard(writer_lock);
  auto* code = reinterpret_cast<volatile uint8_t*>(site);
  if (bytes.empty() || bytes.size() != expected.size()) {
    error = "internal: replacement of a different size";
    return false;
  }
  if (std::memcmp(reinterpret_cast<const void*>(site), expected.data(), expected.size()) != 0) {
    error = "the code at the entry is not what was expected (changed by someone else?); nothing was changed";
    return false;
  }
  if (!serialize_all_cores(error) || !install_sigtrap_handler(error)) return false;
  WritableCode writable(site, bytes.size());
  if (!writable.error().empty()) {
    error = "cannot make the code writable: " + writable.error();
    return false;
  }
  set_detour(site, detour);
  // 1. A breakpoint over the first byte: from now on a thread arriving at the entry
  //    traps and the handler sends it to `detour`; nobody starts the old bytes.
  __atomic_store_n(&code[0], arch::breakpoint_byte(), __ATOMIC_SEQ_CST);
  if (!serialize_all_cores(error)) return false;  // cannot happen once registered
  // 2. The rest of the new bytes, behind the breakpoint.
  for (size_t i = 1; i < bytes.size(); ++i) code[i] = bytes[i];
  serialize_all_cores(error);
  // 3. The first byte: the new instruction is whole at once.
  __atomic_store_n(&code[0], bytes[0], __ATOMIC_SEQ_CST);
  serialize_all_cores(error);
  error.clear();
  return true;
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

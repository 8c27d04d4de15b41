#include "loader/activity.h"

#include <algorithm>

#include <fmt/format.h>

#include "loader/process.h"
#include "loader/thread.h"

namespace hotpatch {

namespace {
// Upper bound on the stack bytes scanned per thread: far beyond any real stack in
// use, small enough that a corrupt stack pointer cannot make us read gigabytes.
constexpr size_t kMaxStackScan = 64u << 20;
}  // namespace

ThreadActivity::ThreadActivity(Process& process, AllThreadsStopped& world, std::optional<AddressSpace>& space) {
  auto& threads = world.threads();
  threads_.resize(threads.size());
  std::vector<Process::ReadRequest> reads(threads.size());
  for (size_t i = 0; i < threads.size(); ++i) {
    View& v = threads_[i];
    const arch::Registers& regs = threads[i]->registers();
    v.tid = threads[i]->tid();
    v.pc = regs.pc();
    v.sp = regs.sp();
    if (!space) space = process.address_space();
    const Mapping* m = space->find(v.sp);
    if (!m) {
      space = process.address_space();  // a thread created since we last looked
      m = space->find(v.sp);
    }
    if (!m) {
      if (!unreadable_)
        unreadable_ = fmt::format("thread {} has its stack pointer {} outside any mapping; cannot check it", v.tid, v.sp);
      continue;
    }
    size_t len = std::min<uint64_t>(m->range.end - v.sp, kMaxStackScan);
    v.words.resize(len / 8);
    reads[i] = {v.sp, v.words.data(), v.words.size() * 8};
  }
  process.read_many(reads);
  for (size_t i = 0; i < threads_.size(); ++i) threads_[i].words.resize(reads[i].got / 8);
}

std::optional<std::string> ThreadActivity::find_active(const std::vector<GuardedRange>& guarded, pid_t ignored) const {
  if (guarded.empty()) return std::nullopt;
  if (unreadable_) return unreadable_;
  for (const View& v : threads_)
    for (const auto& g : guarded)
      if (v.tid != ignored && g.range.contains(v.pc))
        return fmt::format("{} is running on thread {} (pc {})", g.what, v.tid, v.pc);
  for (const View& v : threads_)
    for (size_t w = 0; v.tid != ignored && w < v.words.size(); ++w) {
      RemoteAddr word(v.words[w]);
      for (const auto& g : guarded)
        if (g.range.contains(word))
          return fmt::format("{} is on the stack of thread {} (return address {} at {})", g.what, v.tid, word,
                             v.sp + static_cast<int64_t>(w * 8));
    }
  return std::nullopt;
}

}  // namespace hotpatch

#include "loader/activity.h"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "loader/process.h"
#include "loader/thread.h"

namespace hotpatch {

namespace {
// Upper bound on the stack bytes scanned per thread: far beyond any real stack in
// use, small enough that a corrupt stack pointer cannot make us read gigabytes.
constexpr size_t kMaxStackScan = 64u << 20;

// The stacks pass through one buffer, read in batches and scanned while they are
// still in the cache. Fresh memory for every stack cost more than the reading: with
// 1000 threads (4.5 MB of live stack) the page faults on new buffers took 10-20 ms
// of the stop against ~1.5 ms for the copy itself. The buffer lives as long as the
// CLI, so only the first stop touches its pages, and only as many as it uses.
constexpr size_t kScanBufferWords = 32 * 1024;  // 256 KiB
uint64_t* scan_buffer() {
  static std::unique_ptr<uint64_t[]> buffer(new uint64_t[kScanBufferWords]);  // not zeroed: nothing is read before written
  return buffer.get();
}
}  // namespace

ThreadActivity::ThreadActivity(Process& process, AllThreadsStopped& world, std::optional<AddressSpace>& space)
    : process_(process) {
  auto& threads = world.threads();
  threads_.resize(threads.size());
  for (size_t i = 0; i < threads.size(); ++i) {
    View& v = threads_[i];
    const arch::Registers& regs = threads[i]->registers();
    v.tid = threads[i]->tid();
    v.pc = regs.pc();
    v.sp = regs.sp();
    v.stack_end = v.sp;
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
    RemoteAddr frames_end = regs.stack_frames_end(m->range.end);
    v.stack_end = v.sp + static_cast<int64_t>(std::min<uint64_t>(frames_end - v.sp, kMaxStackScan) & ~uint64_t{7});
  }
}

std::optional<std::string> ThreadActivity::find_active(const std::vector<GuardedRange>& guarded, pid_t ignored) const {
  return find_active_each({guarded}, ignored).front();
}

std::vector<std::optional<std::string>> ThreadActivity::find_active_each(
    const std::vector<std::vector<GuardedRange>>& questions, pid_t ignored) const {
  std::vector<std::optional<std::string>> answers(questions.size());
  // Every range of every question still open, flat, and the hull around them: most
  // stack words (data pointers, small numbers) fall outside it and cost one compare.
  struct Target {
    uint64_t start, end;
    size_t question;
    const GuardedRange* range;
  };
  std::vector<Target> targets;
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t q = 0; q < questions.size(); ++q) {
    if (questions[q].empty()) continue;
    if (unreadable_) {
      answers[q] = unreadable_;
      continue;
    }
    for (const auto& g : questions[q]) {
      if (g.range.end.value() <= g.range.start.value()) continue;
      targets.push_back({g.range.start.value(), g.range.end.value(), q, &g});
      lo = std::min(lo, g.range.start.value());
      hi = std::max(hi, g.range.end.value());
    }
  }
  size_t open = 0;
  for (size_t q = 0; q < questions.size(); ++q)
    if (!answers[q] && std::any_of(targets.begin(), targets.end(), [&](const Target& t) { return t.question == q; })) ++open;
  // The first open question a value falls in (in the questions' own order of
  // ranges), answered with `describe`.
  auto hit = [&](uint64_t value, auto&& describe) {
    if (value - lo >= hi - lo) return;
    for (const Target& t : targets)
      if (!answers[t.question] && value >= t.start && value < t.end) {
        answers[t.question] = describe(*t.range);
        --open;
      }
  };

  for (const View& v : threads_) {
    if (!open) return answers;
    if (v.tid == ignored) continue;
    hit(v.pc.value(), [&](const GuardedRange& g) { return fmt::format("{} is running on thread {} (pc {})", g.what, v.tid, v.pc); });
  }

  // The stacks, in thread order, in pieces that fill the buffer: one
  // process_vm_readv per buffer-full (a stack larger than the buffer spans several).
  uint64_t* const buffer = scan_buffer();
  struct Piece {
    const View* thread;
    RemoteAddr start;
  };
  std::vector<Piece> pieces;
  std::vector<Process::ReadRequest> reads;
  size_t next_thread = 0;
  size_t taken = 0;  // words of threads_[next_thread]'s stack already in earlier pieces
  while (open && next_thread < threads_.size()) {
    pieces.clear();
    reads.clear();
    size_t used = 0;
    while (next_thread < threads_.size() && used < kScanBufferWords && reads.size() < 1024) {
      const View& v = threads_[next_thread];
      const size_t words = v.tid == ignored ? 0 : static_cast<size_t>(v.stack_end - v.sp) / 8 - taken;
      const size_t take = std::min(words, kScanBufferWords - used);
      if (take) {
        RemoteAddr from = v.sp + static_cast<int64_t>(taken * 8);
        pieces.push_back({&v, from});
        reads.push_back({from, buffer + used, take * 8});
        used += take;
      }
      if (take == words) {
        ++next_thread;
        taken = 0;
      } else {
        taken += take;
      }
    }
    process_.read_many(reads);
    for (size_t p = 0; p < pieces.size() && open; ++p) {
      const uint64_t* words = static_cast<const uint64_t*>(reads[p].out);
      const size_t count = reads[p].got / 8;
      const View& v = *pieces[p].thread;
      for (size_t w = 0; w < count && open; ++w)
        hit(words[w], [&](const GuardedRange& g) {
          return fmt::format("{} is on the stack of thread {} (return address {} at {})", g.what, v.tid,
                             RemoteAddr(words[w]), pieces[p].start + static_cast<int64_t>(w * 8));
        });
    }
  }
  return answers;
}

}  // namespace hotpatch

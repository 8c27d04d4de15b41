#include "loader/activity.h"

#include <algorithm>
#include <map>
#include <memory>
#include <tuple>

#include <fmt/format.h>

#include "common/paths.h"
#include "loader/process.h"
#include "loader/thread.h"

namespace hotpatch {

namespace {
// Upper bound on the stack bytes scanned per thread: far beyond any real stack in
// use, small enough that a corrupt stack pointer cannot make us read gigabytes.
constexpr size_t kMaxStackScan = 64u << 20;
// Signal frames followed per question pass: far more than real nesting; a stale
// restorer address on a stack costs at most one more region each.
constexpr size_t kMaxSignalFrames = 256;

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

// Where the C library keeps its signal restorer (glibc's and musl's __restore_rt,
// the return address of every handler's frame): every place in its code holding the
// restorer's bytes. Read once per (process, libc mapping).
const std::vector<RemoteAddr>& signal_returns(const Process& process, const AddressSpace& space) {
  static std::map<std::tuple<pid_t, uint64_t, uint64_t>, std::vector<RemoteAddr>> found;
  std::vector<const Mapping*> code;
  for (const auto& m : space.mappings()) {
    if (!m.executable || !m.is_file()) continue;
    const std::string base = base_name(m.path);
    if (base.rfind("libc.so", 0) == 0 || base.rfind("libc-", 0) == 0 || base.rfind("ld-musl", 0) == 0) code.push_back(&m);
  }
  if (code.empty())  // statically linked: the C library is in the program
    for (const auto& m : space.mappings())
      if (m.executable && m.is_file() && (code.empty() || m.path == code.front()->path)) code.push_back(&m);
  static const std::vector<RemoteAddr> none;
  if (code.empty()) return none;
  auto key = std::make_tuple(process.pid(), code.front()->range.start.value(), code.front()->inode);
  if (auto it = found.find(key); it != found.end()) return it->second;
  std::vector<RemoteAddr>& out = found[key];
  const auto pattern = arch::signal_restorer_code();
  for (const Mapping* m : code) {
    std::vector<uint8_t> text(m->range.size());
    text.resize(process.read_partial(m->range.start, text.data(), text.size()));
    for (auto it = text.begin(); (it = std::search(it, text.end(), pattern.begin(), pattern.end())) != text.end(); ++it)
      out.push_back(m->range.start + (it - text.begin()));
  }
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

void ThreadActivity::prepare(const Process& process, const AddressSpace& space) { (void)signal_returns(process, space); }

ThreadActivity::ThreadActivity(Process& process, AllThreadsStopped& world, std::optional<AddressSpace>& space)
    : process_(process), space_(space) {
  auto& threads = world.threads();
  threads_.resize(threads.size());
  for (size_t i = 0; i < threads.size(); ++i) {
    View& v = threads_[i];
    const arch::Registers& regs = threads[i]->registers();
    v.tid = threads[i]->tid();
    v.pc = regs.pc();
    v.sp = regs.sp();
    v.stack_end = v.sp;
    v.regs = regs;
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
  if (!space) space = process.address_space();
  signal_returns_ = signal_returns(process, *space);
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
  // `stack_word`: `value` was read from a stack, not a pc: a function's first byte
  // there is a pointer to it, not a return address (GuardedRange::function_start).
  auto hit = [&](uint64_t value, auto&& describe, bool stack_word = false) {
    if (value - lo >= hi - lo) return;
    for (const Target& t : targets)
      if (!answers[t.question] && value >= t.start && value < t.end &&
          !(stack_word && value == t.start && t.range->function_start)) {
        answers[t.question] = describe(*t.range);
        --open;
      }
  };

  for (const View& v : threads_) {
    if (!open) return answers;
    if (v.tid == ignored) continue;
    hit(v.pc.value(), [&](const GuardedRange& g) { return fmt::format("{} is running on thread {} (pc {})", g.what, v.tid, v.pc); });
  }

  // The stack memory to scan, per thread: from the stack pointer first, then from
  // each stack pointer a signal frame saved, when it is not in memory scanned yet.
  struct Region {
    const View* thread;
    RemoteAddr start, end;
    bool behind_signal;  // reached through a signal frame's saved context
  };
  std::vector<Region> regions, scanned;
  for (const View& v : threads_)
    if (v.tid != ignored && v.stack_end > v.sp) regions.push_back({&v, v.sp, v.stack_end, false});
  const uint64_t sig_lo = signal_returns_.empty() ? 1 : signal_returns_.front().value();
  const uint64_t sig_span = signal_returns_.empty() ? 0 : signal_returns_.back().value() - sig_lo;
  struct FoundFrame {
    const View* thread;
    RemoteAddr at;
  };
  std::vector<FoundFrame> frames;
  size_t frames_followed = 0;

  // The regions, in order, in pieces that fill the buffer: one process_vm_readv per
  // buffer-full (a stack larger than the buffer spans several).
  uint64_t* const buffer = scan_buffer();
  struct Piece {
    const Region* region;
    RemoteAddr start;
  };
  std::vector<Piece> pieces;
  std::vector<Process::ReadRequest> reads;
  while (open && !regions.empty()) {
    size_t next_region = 0;
    size_t taken = 0;  // words of regions[next_region] already in earlier pieces
    while (open && next_region < regions.size()) {
      pieces.clear();
      reads.clear();
      size_t used = 0;
      while (next_region < regions.size() && used < kScanBufferWords && reads.size() < 1024) {
        const Region& r = regions[next_region];
        const size_t words = static_cast<size_t>(r.end - r.start) / 8 - taken;
        const size_t take = std::min(words, kScanBufferWords - used);
        if (take) {
          RemoteAddr from = r.start + static_cast<int64_t>(taken * 8);
          pieces.push_back({&r, from});
          reads.push_back({from, buffer + used, take * 8});
          used += take;
        }
        if (take == words) {
          ++next_region;
          taken = 0;
        } else {
          taken += take;
        }
      }
      process_.read_many(reads);
      for (size_t p = 0; p < pieces.size() && open; ++p) {
        const uint64_t* words = static_cast<const uint64_t*>(reads[p].out);
        const size_t count = reads[p].got / 8;
        const Region& r = *pieces[p].region;
        auto examine = [&](size_t w) {
          const uint64_t value = words[w];
          hit(value, [&](const GuardedRange& g) {
            return fmt::format("{} is on the stack of thread {} (return address {} at {}{})", g.what, r.thread->tid,
                               RemoteAddr(value), pieces[p].start + static_cast<int64_t>(w * 8),
                               r.behind_signal ? ", below a signal handler's frame" : "");
          }, true);
          if (value - sig_lo <= sig_span && frames_followed + frames.size() < kMaxSignalFrames &&
              std::binary_search(signal_returns_.begin(), signal_returns_.end(), RemoteAddr(value)))
            frames.push_back({r.thread, pieces[p].start + static_cast<int64_t>(w * 8)});
        };
        // Nearly every word is in neither hull: test 8 at a time, a loop without
        // branches the compiler vectorises, and look closer only at a block that
        // holds a candidate (1000 threads: 1.3 ms of the stop's scan was this loop).
        const uint64_t span = hi - lo;
        size_t w = 0;
        for (; w + 8 <= count && open; w += 8) {
          bool candidate = false;
          for (size_t j = 0; j < 8; ++j) candidate |= (words[w + j] - lo < span) | (words[w + j] - sig_lo <= sig_span);
          if (candidate)
            for (size_t j = 0; j < 8 && open; ++j) examine(w + j);
        }
        for (; w < count && open; ++w) examine(w);
      }
    }
    scanned.insert(scanned.end(), regions.begin(), regions.end());
    regions.clear();
    if (!open || frames.empty()) break;

    // Each signal frame's saved context: its pc is checked like a thread's pc, and
    // its stack pointer starts a new region unless that memory was scanned already.
    std::vector<std::vector<uint8_t>> contexts(frames.size(), std::vector<uint8_t>(arch::kSignalFrameContextSize));
    reads.clear();
    for (size_t i = 0; i < frames.size(); ++i) reads.push_back({frames[i].at, contexts[i].data(), contexts[i].size()});
    process_.read_many(reads);
    for (size_t i = 0; i < frames.size() && open; ++i) {
      if (reads[i].got != reads[i].len) continue;
      auto context = arch::interrupted_context(contexts[i]);
      if (!context) continue;  // not a signal frame after all (a stale word)
      const View& v = *frames[i].thread;
      hit(context->pc.value(), [&](const GuardedRange& g) {
        return fmt::format("{} was running on thread {} when a signal handler interrupted it (pc {} saved at {})", g.what,
                           v.tid, context->pc, frames[i].at);
      });
      const RemoteAddr sp = context->sp;
      if (std::any_of(scanned.begin(), scanned.end(), [&](const Region& r) { return r.thread == &v && r.start <= sp && sp < r.end; }) ||
          std::any_of(regions.begin(), regions.end(), [&](const Region& r) { return r.thread == &v && r.start <= sp && sp < r.end; }))
        continue;
      const Mapping* m = space_ ? space_->find(sp) : nullptr;
      if (!m) continue;  // a stale word again: a real frame's stack is mapped
      const RemoteAddr start(sp.value() & ~uint64_t{7});
      const RemoteAddr end = v.regs.stack_frames_end(m->range.end);
      if (end <= start) continue;
      regions.push_back({&v, start, start + static_cast<int64_t>(std::min<uint64_t>(end - start, kMaxStackScan) & ~uint64_t{7}),
                         true});
    }
    frames_followed += frames.size();
    frames.clear();
  }
  return answers;
}

}  // namespace hotpatch

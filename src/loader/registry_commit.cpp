#include "loader/registry_commit.h"

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "arch/arch.h"
#include "common/error.h"
#include "loader/process.h"
#include "loader/stop_retry.h"
#include "loader/test_steps.h"
#include "loader/thread.h"

namespace hotpatch {

namespace {

PatchRecord* find_record(Registry& registry, const std::string& id) {
  auto it = std::find_if(registry.patches.begin(), registry.patches.end(), [&](const PatchRecord& p) { return p.id == id; });
  return it == registry.patches.end() ? nullptr : &*it;
}

// The newest patch that redirects `target` and stays: one being reverted in the same
// commit (a replace) is not below the patch being applied.
const PatchRecord* top_staying(const Registry& registry, uint64_t target) {
  for (auto it = registry.patches.rbegin(); it != registry.patches.rend(); ++it)
    if (it->state != PatchState::Reverting)
      for (const auto& r : it->redirects)
        if (r.target == target) return &*it;
  return nullptr;
}

// One change of an entry's bytes, with the test step named after it.
struct SiteWrite {
  RemoteAddr at;
  std::vector<uint8_t> bytes;
  std::string step;
};

}  // namespace

void RegistryCommit::apply(PatchRecord record) {
  std::string id = record.id;
  ops_.push_back({Kind::Apply, std::move(record), std::move(id)});
}
void RegistryCommit::revert(const std::string& id) { ops_.push_back({Kind::Revert, {}, id}); }
void RegistryCommit::finish_apply(const std::string& id) { ops_.push_back({Kind::FinishApply, {}, id}); }
void RegistryCommit::abandon(const std::string& id) { ops_.push_back({Kind::Abandon, {}, id}); }

void RegistryCommit::run(const Process& process, const RuntimeRegistry& runtime, RegistrySnapshot& snap) {
  const pid_t pid = process.pid();
  applied_.clear();
  undo_incomplete_ = false;
  if (ops_.empty()) return;

  // 1. Every site's current bytes, in one read.
  std::map<uint64_t, std::vector<uint8_t>> original;  // site -> bytes before this commit
  auto note_sites = [&](const PatchRecord& p) {
    for (const auto& r : p.redirects) {
      auto& bytes = original[r.patch_site];
      bytes.resize(std::max(bytes.size(), r.written.size()));
    }
  };
  for (const Op& op : ops_) {
    if (op.kind == Kind::Apply) {
      note_sites(op.record);
    } else if (const PatchRecord* p = snap.registry.find(op.id)) {
      note_sites(*p);
    }
  }
  std::vector<Process::ReadRequest> reads;
  for (auto& [site, bytes] : original) reads.push_back({RemoteAddr(site), bytes.data(), bytes.size()});
  process.read_many(reads);
  for (const auto& e : reads)
    if (e.got != e.len)
      throw Error(ErrorKind::Target, fmt::format("process {}: cannot read the {} bytes at {}", pid, e.len, e.addr));

  // What each operation expects at its sites, given those before it: the journal,
  // the writes and the final registry, all decided before anything is written.
  Registry journal = snap.registry;
  std::map<uint64_t, std::vector<uint8_t>> now = original;
  auto bytes_at = [&](const RedirectRecord& r) {
    const auto& b = now.at(r.patch_site);
    return std::vector<uint8_t>(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(r.written.size()));
  };
  std::vector<SiteWrite> writes;
  auto write_site = [&](const RedirectRecord& r, const std::vector<uint8_t>& bytes, std::string step, bool physical = true) {
    std::copy(bytes.begin(), bytes.end(), now.at(r.patch_site).begin());
    if (physical) writes.push_back({RemoteAddr(r.patch_site), bytes, std::move(step)});
  };
  // The functions a later operation of this commit redirects (apply, finish): a
  // revert before it puts their original bytes back only in the model, so that a
  // function goes from one patch's jump to the next one's in a single write and
  // never runs its original code in between, not even after a CLI killed between
  // two writes (apply --replace).
  auto redirected_after = [&](size_t index, uint64_t target) {
    for (size_t k = index + 1; k < ops_.size(); ++k) {
      const Op& later = ops_[k];
      const PatchRecord* p = later.kind == Kind::Apply ? &later.record
                             : later.kind == Kind::FinishApply ? snap.registry.find(later.id) : nullptr;
      if (p)
        for (const auto& r : p->redirects)
          if (r.target == target) return true;
    }
    return false;
  };
  auto pending_record = [&](const Op& op) -> PatchRecord& {
    PatchRecord* p = find_record(journal, op.id);
    if (!p || ((op.kind == Kind::FinishApply || op.kind == Kind::Abandon) && p->state != PatchState::Applying))
      throw Error(ErrorKind::Conflict, fmt::format("process {}: patch '{}' changed meanwhile", pid, op.id));
    return *p;
  };
  bool needs_journal = false;
  for (size_t index = 0; index < ops_.size(); ++index) {
    const Op& op = ops_[index];
    switch (op.kind) {
      case Kind::Apply: {
        PatchRecord record = op.record;
        for (size_t i = 0; i < record.redirects.size(); ++i) {
          RedirectRecord& r = record.redirects[i];
          std::vector<uint8_t> cur = bytes_at(r);
          if (const PatchRecord* below = top_staying(journal, r.target)) {
            for (const auto& b : below->redirects)
              if (b.target == r.target && b.written != cur)
                throw Error(ErrorKind::Conflict, fmt::format("process {}: the entry of '{}' at {} is not what patch '{}' "
                                                             "wrote; refusing to touch it", pid, r.symbol,
                                                             RemoteAddr(r.patch_site), below->id));
          } else if (arch::decode_jump(RemoteAddr(r.patch_site), cur)) {
            throw Error(ErrorKind::Conflict, fmt::format("process {}: '{}' at {} already starts with a jump that no patch "
                                                         "of ours wrote (another patching tool?)", pid, r.symbol,
                                                         RemoteAddr(r.patch_site)));
          }
          r.saved = cur;
          write_site(r, r.written, fmt::format("jump-{}-written", i + 1));
        }
        record.state = PatchState::Applying;
        journal.patches.push_back(std::move(record));
        needs_journal = true;
        break;
      }
      case Kind::Revert: {
        PatchRecord* p = find_record(journal, op.id);
        if (!p) throw Error(ErrorKind::Conflict, fmt::format("process {}: patch '{}' changed meanwhile", pid, op.id));
        for (size_t i = 0; i < p->redirects.size(); ++i) {
          const RedirectRecord& r = p->redirects[i];
          const PatchRecord* top = journal.top_patch_for(r.target);
          // Only a patch still being applied may sit on it: the new half of a replace
          // a killed CLI left (Patcher::complete_replace), finished after this revert.
          const RedirectRecord* pending_above = nullptr;
          if (top && top->id != op.id && top->state == PatchState::Applying)
            for (const auto& b : top->redirects)
              if (b.target == r.target) pending_above = &b;
          if (top && top->id != op.id && !pending_above)
            throw Error(ErrorKind::Conflict, fmt::format("process {}: patch '{}' is applied on top of '{}' (function '{}'); "
                                                         "revert '{}' first", pid, top->id, op.id, r.symbol, top->id));
          std::vector<uint8_t> cur = bytes_at(r);
          if (pending_above && cur == pending_above->written) continue;  // already the new patch's jump
          if (cur != r.written && cur != r.saved)
            throw Error(ErrorKind::Conflict, fmt::format("process {}: the entry of '{}' at {} is not what patch '{}' wrote; "
                                                         "refusing to restore it", pid, r.symbol, RemoteAddr(r.patch_site), op.id));
          write_site(r, r.saved, fmt::format("jump-{}-restored", i + 1), !redirected_after(index, r.target));
        }
        p->state = PatchState::Reverting;
        needs_journal = true;
        break;
      }
      case Kind::FinishApply:
      case Kind::Abandon: {
        const PatchRecord& p = pending_record(op);
        for (size_t i = 0; i < p.redirects.size(); ++i) {
          const RedirectRecord& r = p.redirects[i];
          std::vector<uint8_t> cur = bytes_at(r);
          if (cur != r.written && cur != r.saved)
            throw Error(ErrorKind::Conflict, fmt::format("process {}: the entry of '{}' at {} is neither what patch '{}' "
                                                         "wrote nor what it saved; refusing to touch it",
                                                         pid, r.symbol, RemoteAddr(r.patch_site), op.id));
          if (op.kind == Kind::FinishApply && cur != r.written)
            write_site(r, r.written, fmt::format("jump-{}-written", i + 1));
          if (op.kind == Kind::Abandon && cur != r.saved)
            write_site(r, r.saved, fmt::format("jump-{}-restored", i + 1));
        }
        break;
      }
    }
  }
  Registry final_registry = journal;
  for (const Op& op : ops_) {
    if (op.kind == Kind::Revert || op.kind == Kind::Abandon) {
      std::erase_if(final_registry.patches, [&](const PatchRecord& p) { return p.id == op.id; });
    } else {
      PatchRecord* p = find_record(final_registry, op.id);
      p->state = PatchState::Applied;
      if (op.kind == Kind::Apply) applied_.push_back(*p);
    }
  }

  // 2-4. Journal, bytes, final registry; undone in this same stop on any failure.
  const Registry before = snap.registry;
  bool registry_written = false;
  size_t sites_written = 0;
  try {
    if (needs_journal) {
      // A CLI killed from here on leaves the journal behind, and the next one (any
      // apply, revert or list) finishes it (Patcher::finish_interrupted).
      snap.registry = journal;
      registry_written = true;  // (a write that failed half way changed nothing, and undoing it is harmless)
      runtime.write(process, snap);
      test_steps::reached("journal-written");
    }
    for (const SiteWrite& w : writes) {
      ++sites_written;
      process.write_bytes(w.at, w.bytes);
      test_steps::reached(w.step);
    }
    snap.registry = final_registry;
    registry_written = true;
    runtime.write(process, snap);
    test_steps::reached("committed");
  } catch (...) {
    applied_.clear();
    try {
      for (size_t i = sites_written; i-- > 0;) {
        const SiteWrite& w = writes[i];
        const auto& was = original.at(w.at.value());
        process.write(w.at, was.data(), w.bytes.size());
      }
      if (registry_written) {
        snap.registry = before;
        runtime.write(process, snap);
      }
      test_steps::reached("undone");
    } catch (const std::exception& e) {
      undo_incomplete_ = true;
      fmt::print(stderr, "hotpatch: warning: process {}: could not undo a failed commit: {}; the next hotpatch command "
                         "finishes it\n", pid, e.what());
    }
    throw;
  }
}

StopReport commit_in_stop(Process& process, const RuntimeRegistry* runtime, const RegistrySnapshot& before,
                          const std::vector<GuardedRange>& guarded, std::chrono::steady_clock::time_point deadline,
                          const std::string& action, RegistryCommit& commit) {
  if (!runtime && !commit.empty())
    throw Error(ErrorKind::Internal, fmt::format("process {}: {}: no runtime to record it in", process.pid(), action));
  StopReport report;
  report.attempts = stop_until_idle(process, deadline, action, [&](AllThreadsStopped& world, std::optional<AddressSpace>& space)
                                                                   -> std::optional<std::string> {
    test_steps::reached("world-stopped");
    RegistrySnapshot snap;
    if (runtime) {
      snap = runtime->read(process, &before);
      if (snap.generation != before.generation)
        throw Error(ErrorKind::Conflict, fmt::format("process {}: its patches changed while {} was prepared (another "
                                                     "hotpatch?); nothing was changed, try again",
                                                     process.pid(), action));
      if (snap.lock_holder != 0) {
        // Every thread is stopped: a holder that is not one of them died holding the
        // lock (or the process forked while another thread held it). Our write of
        // the registry clears it. The runtime wrote its gettid(): in a PID namespace
        // of its own (a container) that is not our id of the thread.
        const std::optional<pid_t> holder = thread_with_own_id(process.pid(), static_cast<pid_t>(snap.lock_holder));
        const bool holder_lives = holder && std::any_of(world.threads().begin(), world.threads().end(),
                                                        [&](const auto& t) { return t->tid() == *holder; });
        if (holder_lives)
          return *holder == static_cast<pid_t>(snap.lock_holder)
                     ? fmt::format("the registry is being updated by thread {}", *holder)
                     : fmt::format("the registry is being updated by thread {} ({} in its PID namespace)", *holder,
                                   snap.lock_holder);
      }
    }
    if (auto active = ThreadActivity(process, world, space).find_active(guarded)) return active;
    if (runtime) commit.run(process, *runtime, snap);
    report.threads = world.threads().size();
    report.pause = world.release();
    report.pause_thread = world.longest_hold().tid;
    test_steps::reached("released");
    return std::nullopt;
  });
  return report;
}

}  // namespace hotpatch

#include "loader/patcher.h"

#include <algorithm>
#include <optional>

#include "common/error.h"
#include "common/verbose.h"
#include "loader/address_space.h"
#include "loader/patch_load.h"
#include "loader/patch_plan.h"
#include "loader/process.h"
#include "loader/registry_commit.h"
#include "loader/runtime_registry.h"
#include "loader/target_objects.h"
#include "loader/test_steps.h"

namespace hotpatch {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kLoadPhaseTimeout(30000);

// Why the code an interrupted apply's jumps lead to is not (all) in the process any
// more, or "" if it is: each jump's destination (its stub, or the replacement) and
// the patch's code must lie in executable mappings.
std::string code_missing(const PatchRecord& record, const AddressSpace& space) {
  auto executable = [&](uint64_t at) {
    const Mapping* m = space.find(RemoteAddr(at));
    return m && m->executable;
  };
  if (record.code.length && !executable(record.code.start))
    return fmt::format("its code at {} is not mapped", RemoteAddr(record.code.start));
  for (const auto& r : record.redirects) {
    uint64_t destination = r.stub ? r.stub : r.replacement;
    if (!executable(destination))
      return fmt::format("the jump of '{}' leads to {}, which is not mapped", r.symbol, RemoteAddr(destination));
  }
  return "";
}

}  // namespace

struct Patcher::Impl {
  explicit Impl(pid_t pid) : process(pid) {}
  Process process;

  // The target's objects, read once per command: reading them (every ELF image and
  // its debug symbols) is the bulk of a `list`. Forgotten when code was loaded or
  // unloaded.
  const TargetObjects& objects() {
    if (!objects_) objects_.emplace(process, process.address_space());
    return *objects_;
  }
  void forget_objects() { objects_.reset(); }

 private:
  std::optional<TargetObjects> objects_;
};

namespace {
// Forgets the cached objects when a command that loads or unloads code ends;
// declared before any reference to them, so it runs after their last use.
struct ForgetObjectsAtEnd {
  Patcher::Impl* impl;
  ~ForgetObjectsAtEnd() { impl->forget_objects(); }
};
}  // namespace

Patcher::Patcher(pid_t pid) : impl_(new Impl(pid)) {}
Patcher::~Patcher() { delete impl_; }

Registry Patcher::applied() {
  auto runtime = RuntimeRegistry::find(impl_->objects());
  if (!runtime) return {};
  return runtime->read(impl_->process).registry;
}

ApplyReport Patcher::apply_one(const PatchFile& patch, std::chrono::milliseconds timeout) {
  Process& process = impl_->process;
  // --timeout bounds the wait for the functions to become inactive (the stop phase);
  // finding a thread that can load the patch gets its own, longer bound, since on a
  // loaded machine being scheduled alone can take a while.
  const auto load_deadline = Clock::now() + std::max<std::chrono::milliseconds>(timeout, kLoadPhaseTimeout);
  check_file_is_trusted(patch.path);
  ForgetObjectsAtEnd forget{impl_};
  const TargetObjects& objects = impl_->objects();

  ApplyPlan plan = plan_apply(process, objects, patch);  // 1. plan: the target untouched
  verbose::step(fmt::format("process {}: planned '{}' ({} function{} resolved)", process.pid(), patch.id, plan.redirects.size(),
                            plan.redirects.size() == 1 ? "" : "s"));
  try {
    PatchLoad load(process, objects);  // 2. load, while the other threads run; unloaded unless kept
    load.load(plan, load_deadline);
    verbose::step(fmt::format("process {}: loaded '{}' on a borrowed thread", process.pid(), patch.id));
    RegistryCommit commit;             // 3. commit, with every thread stopped
    commit.apply(load.record(plan));
    StopReport stop;
    try {
      stop = commit_in_stop(process, &load.runtime(), load.registry_before(), plan.guarded, Clock::now() + timeout,
                            fmt::format("apply '{}'", patch.id), commit);  // 4. release (the stop's end)
    } catch (...) {
      if (commit.undo_incomplete()) load.keep();  // the journal still names it: the next CLI finishes the apply
      throw;
    }
    load.keep();
    verbose::step(fmt::format("process {}: committed '{}' ({} us stopped)", process.pid(), patch.id, stop.pause.count()));
    ApplyReport report;
    static_cast<StopReport&>(report) = stop;
    report.functions = plan.redirects.size();
    report.record = commit.applied().front();
    report.notes = load.notes();
    report.runtime_load = load.runtime_load();
    return report;
  } catch (...) {
    if (!process.alive())
      throw Error(ErrorKind::Target, fmt::format("process {}: {} while '{}' was being applied", process.pid(),
                                                 process.replaced_by_exec() ? "ran a new program (execve)" : "exited",
                                                 patch.id));
    throw;
  }
}

RevertReport Patcher::revert_one(const std::string& id, std::chrono::milliseconds timeout) {
  Process& process = impl_->process;
  const auto deadline = Clock::now() + timeout;
  ForgetObjectsAtEnd forget{impl_};
  const TargetObjects& objects = impl_->objects();

  RevertPlan plan = plan_revert(process, objects, id);  // 1. plan
  verbose::step(fmt::format("process {}: planned the revert of '{}'", process.pid(), id));
  RegistryCommit commit;                                // 2. commit: the saved bytes back, in one stop
  commit.revert(id);
  StopReport stop = commit_in_stop(process, &plan.runtime, plan.before, plan.guarded, deadline,
                                   fmt::format("revert '{}'", id), commit);  // 3. release
  verbose::step(fmt::format("process {}: committed the revert of '{}' ({} us stopped)", process.pid(), id, stop.pause.count()));

  // 4. Unload: no thread is in the patch and nothing jumps to it any more.
  try {
    unload_code(process, objects, LoadedCode{plan.patch.handle, plan.patch.stubs, plan.patch.unwind_tables});
    test_steps::reached("unloaded");
    verbose::step(fmt::format("process {}: unloaded '{}'", process.pid(), id));
  } catch (const std::exception& e) {
    fmt::print(stderr, "hotpatch: warning: process {}: patch '{}' is reverted but its code could not be unloaded: {}\n",
               process.pid(), id, e.what());
  }
  RevertReport report;
  static_cast<StopReport&>(report) = stop;
  report.functions = plan.patch.redirects.size();
  report.id = id;
  return report;
}

ApplyReport Patcher::apply(const PatchFile& patch, std::chrono::milliseconds timeout) {
  finish_interrupted(timeout);
  test_steps::Phase phase("apply");
  return apply_one(patch, timeout);
}

RevertReport Patcher::revert(const std::string& id, std::chrono::milliseconds timeout) {
  finish_interrupted(timeout);
  test_steps::Phase phase("revert");
  return revert_one(id, timeout);
}

std::vector<RevertReport> Patcher::revert_all(std::chrono::milliseconds timeout) {
  finish_interrupted(timeout);
  test_steps::Phase phase("revert");
  std::vector<RevertReport> reports;
  for (;;) {
    Registry reg = applied();
    if (reg.patches.empty()) return reports;
    reports.push_back(revert_one(reg.patches.back().id, timeout));
  }
}

void Patcher::finish_interrupted(std::chrono::milliseconds timeout) {
  test_steps::Phase phase("recover");
  Process& process = impl_->process;
  for (;;) {
    Registry reg = applied();
    // Reverts first (newest first), then applies (oldest first): the order in which
    // one commit that reverts a patch and applies another on the same functions
    // (registry_commit.h) made the changes.
    const PatchRecord* pending = nullptr;
    for (auto it = reg.patches.rbegin(); !pending && it != reg.patches.rend(); ++it)
      if (it->state == PatchState::Reverting) pending = &*it;
    for (auto it = reg.patches.begin(); !pending && it != reg.patches.end(); ++it)
      if (it->state == PatchState::Applying) pending = &*it;
    if (!pending) return;
    const std::string id = pending->id;
    if (pending->state == PatchState::Applying) {
      if (std::string missing = complete_apply(id, timeout); missing.empty())
        fmt::print(stderr, "hotpatch: note: process {}: finished applying '{}', which an interrupted hotpatch had left "
                           "half done\n", process.pid(), id);
      else
        fmt::print(stderr, "hotpatch: note: process {}: dropped '{}', which an interrupted hotpatch had left half "
                           "applied: {}; its functions are back to what they were\n", process.pid(), id, missing);
    } else {
      revert_one(id, timeout);
      fmt::print(stderr, "hotpatch: note: process {}: finished reverting '{}', which an interrupted hotpatch had left "
                         "half done\n", process.pid(), id);
    }
  }
}

std::string Patcher::complete_apply(const std::string& id, std::chrono::milliseconds timeout) {
  Process& process = impl_->process;
  const TargetObjects& objects = impl_->objects();
  auto runtime = RuntimeRegistry::find(objects);
  if (!runtime) return "";
  RegistrySnapshot before = runtime->read(process);
  const PatchRecord* found = before.registry.find(id);
  if (!found || found->state != PatchState::Applying) return "";
  // What the apply guarded: each replaced function, and what stood in for it below.
  std::vector<GuardedRange> guarded = guarded_for_apply(found->redirects, before.registry, id);
  RegistryCommit commit;
  const std::string missing = code_missing(*found, process.address_space());
  if (missing.empty())
    commit.finish_apply(id);
  else
    commit.abandon(id);  // never a jump into code that is gone
  commit_in_stop(process, &*runtime, before, guarded, Clock::now() + timeout,
                 fmt::format("{} '{}'", missing.empty() ? "finish applying" : "drop", id), commit);
  return missing;
}

}  // namespace hotpatch

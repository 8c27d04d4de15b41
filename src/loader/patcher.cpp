#include "loader/patcher.h"

#include <algorithm>
#include <optional>

#include "common/error.h"
#include "common/verbose.h"
#include "loader/address_space.h"
#include "loader/patch_callbacks.h"
#include "loader/patch_load.h"
#include "loader/patch_plan.h"
#include "loader/process.h"
#include "loader/registry_commit.h"
#include "loader/runtime_registry.h"
#include "loader/target_objects.h"
#include "loader/test_steps.h"
#include "loader/thread.h"

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

ShadowStats Patcher::shadow_stats() { return read_shadow_stats(impl_->process, impl_->objects()); }

Patcher::KeptCode Patcher::kept_code() {
  const TargetObjects& objects = impl_->objects();
  const Registry reg = applied();
  KeptCode kept;
  for (const auto& o : objects.objects()) {
    if (!objects.is_patch(o)) continue;
    bool live = std::any_of(reg.patches.begin(), reg.patches.end(),
                            [&](const PatchRecord& p) { return o.span.contains(RemoteAddr(p.code.start)); });
    if (live) continue;
    kept.copies += 1;
    for (const auto& m : objects.address_space().mappings())
      if (m.inode == o.inode && m.device == o.device && m.path == o.path) kept.bytes += m.range.size();
  }
  return kept;
}

std::chrono::microseconds Patcher::prepare_runtime(const PatchFile& patch, Clock::time_point deadline) {
  // The bytes read (and judged) once, never the path again (docs/security.md).
  // Callbacks run on a thread of the runtime's own (patch_callbacks.h): it must be
  // there before the pre-apply one.
  const bool callbacks = patch.pre_apply || patch.post_apply || patch.pre_revert || patch.post_revert;
  if (patch.shadow_ids.empty() && !callbacks &&
      !uses_runtime_api(patch.bytes ? ElfImage::from_bytes(*patch.bytes, patch.path) : ElfImage::open(patch.path), patch))
    return {};
  auto runtime = RuntimeRegistry::find(impl_->objects());
  // A near-linked patch only needs the runtime there (its references are bound by
  // the near linker); a dlopen()ed one needs it global.
  if (runtime && patch.link_near) return {};
  std::string path = runtime ? runtime->runtime_path() : locate_runtime_library();
  if (!runtime) check_file_is_trusted(path);
  const auto started = Clock::now();
  load_runtime_globally(impl_->process, impl_->objects(), path, deadline);
  impl_->forget_objects();  // the plan must see it
  if (runtime) return {};
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
}

void Patcher::dispose(const PatchRecord& patch) {
  Process& process = impl_->process;
  const TargetObjects& objects = impl_->objects();
  if (patch.shadow_ids) {
    try {
      release_shadow_ids(process, objects, patch.id, Clock::now() + std::chrono::seconds(30));
    } catch (const std::exception& e) {
      fmt::print(stderr, "hotpatch: warning: process {}: the shadow variables of '{}' could not be freed: {}\n",
                 process.pid(), patch.id, e.what());
    }
  }
  // Its code and data stay mapped (the dlopen handle is never closed, the stub pages
  // stay): nothing jumps to the patch any more, but the program may still hold
  // pointers into it that its code stored while the patch was live: a string literal
  // only the fix has, the address of a function the patch added (an event handler),
  // a table of its. Unmapping would turn the next use into a SIGSEGV long after the
  // revert. Unwind tables stay registered too: a kept callback may still throw. A
  // failed apply is different: nothing of it was ever live, ~PatchLoad unloads it.
  test_steps::reached("disposed");
  verbose::step(fmt::format("process {}: reverted '{}', its code stays mapped", process.pid(), patch.id));
}

ApplyReport Patcher::apply_one(const PatchFile& patch, std::chrono::milliseconds timeout, const std::string& replace) {
  Process& process = impl_->process;
  const pid_t pid = process.pid();
  // --timeout bounds the wait for the functions to become inactive (the stop phase);
  // finding a thread that can load the patch gets its own, longer bound, since on a
  // loaded machine being scheduled alone can take a while.
  const auto load_deadline = Clock::now() + std::max<std::chrono::milliseconds>(timeout, kLoadPhaseTimeout);
  check_file_is_trusted(patch.path);
  ForgetObjectsAtEnd forget{impl_};
  if (!replace.empty() && replace == patch.id)
    throw Error(ErrorKind::Conflict, fmt::format("process {}: the new patch has the id '{}' of the patch it replaces; give "
                                                 "it another (HOTPATCH_ID, create --id)", pid, patch.id));
  const auto runtime_loaded = prepare_runtime(patch, load_deadline);
  const TargetObjects& objects = impl_->objects();

  ApplyPlan plan = plan_apply(process, objects, patch);  // 1. plan: the target untouched
  std::optional<RevertPlan> old;
  if (!replace.empty()) {
    // The patch it replaces must be removable too: applied, nothing on top of it, and
    // none of its code running in the stop.
    old = plan_revert(process, objects, replace);
    plan.guarded.insert(plan.guarded.end(), old->guarded.begin(), old->guarded.end());
  }
  verbose::step(fmt::format("process {}: planned '{}' ({} function{} resolved)", process.pid(), patch.id, plan.redirects.size(),
                            plan.redirects.size() == 1 ? "" : "s"));
  HoldWatch holds;  // the pause the program sees: any thread's longest hold, the borrowed one's too
  auto callback = [&](const std::optional<PatchCallback>& cb, int64_t bias, const char* point) {
    return run_callback(process, objects, RemoteAddr(cb->vaddr + bias),
                        fmt::format("{} callback {} of patch '{}'", point, cb->name, patch.id), load_deadline);
  };
  try {
    PatchLoad load(process, objects);  // 2. load, while the other threads run; unloaded unless kept
    load.load(plan, load_deadline);
    verbose::step(fmt::format("process {}: loaded '{}' on a borrowed thread", process.pid(), patch.id));
    PatchRecord record = load.record(plan);
    const int64_t bias = static_cast<int64_t>(record.code.start - patch.text_vaddr_start);
    if (patch.pre_revert) record.pre_revert = patch.pre_revert->vaddr + bias;
    if (patch.post_revert) record.post_revert = patch.post_revert->vaddr + bias;
    record.shadow_ids = !patch.shadow_ids.empty();
    // Before any code of the patch runs, its shadow ids are usable; released if
    // anything below fails.
    ShadowClaim claim(process, objects, patch, load_deadline);
    if (patch.pre_apply) {  // docs/creator.md#callbacks: outside the stop, may refuse
      if (int r = callback(patch.pre_apply, bias, "pre-apply"); r != 0)
        throw Error(ErrorKind::Refused, fmt::format("process {}: patch '{}' refused by its pre-apply callback {} (returned "
                                                    "{}); nothing was changed", pid, patch.id, patch.pre_apply->name, r));
      test_steps::reached("pre-apply-returned");
    }
    RegistryCommit commit;  // 3. commit, with every thread stopped
    if (old) commit.revert(replace);
    commit.apply(std::move(record));
    StopReport stop;
    try {
      stop = commit_in_stop(process, &load.runtime(), load.registry_before(), plan.guarded, Clock::now() + timeout,
                            old ? fmt::format("apply '{}' in place of '{}'", patch.id, replace)
                                : fmt::format("apply '{}'", patch.id),
                            commit);  // 4. release (the stop's end)
    } catch (...) {
      if (commit.undo_incomplete()) {  // the journal still names it: the next CLI finishes the apply
        load.keep();
        claim.keep();
      }
      throw;
    }
    load.keep();
    claim.keep();
    verbose::step(fmt::format("process {}: committed '{}' ({} us stopped)", process.pid(), patch.id, stop.pause.count()));
    ApplyReport report;
    static_cast<StopReport&>(report) = stop;
    report.functions = plan.redirects.size();
    report.record = commit.applied().front();
    report.notes = load.notes();
    report.runtime_load = runtime_loaded + load.runtime_load();
    if (old) {
      dispose(old->patch);  // its shadow ids the new patch does not declare are freed
      report.replaced = replace;
    }
    if (patch.post_apply) {
      try {
        callback(patch.post_apply, bias, "post-apply");
      } catch (const Error& e) {
        throw Error(e.kind(), fmt::format("patch '{}' is applied, but {}", patch.id, e.what()));
      }
    }
    report.pause = holds.longest().held;  // the post-apply callback's borrowed thread counts too
    report.pause_thread = holds.longest().tid;
    return report;
  } catch (...) {
    if (!process.alive())
      throw Error(ErrorKind::Target, fmt::format("process {}: {} while '{}' was being applied", process.pid(),
                                                 process.replaced_by_exec() ? "ran a new program (execve)" : "exited",
                                                 patch.id));
    throw;
  }
}

RevertReport Patcher::revert_one(const std::string& id, std::chrono::milliseconds timeout, bool finishing) {
  Process& process = impl_->process;
  const auto deadline = Clock::now() + timeout;
  ForgetObjectsAtEnd forget{impl_};
  const TargetObjects& objects = impl_->objects();

  RevertPlan plan = plan_revert(process, objects, id);  // 1. plan
  verbose::step(fmt::format("process {}: planned the revert of '{}'", process.pid(), id));
  HoldWatch holds;  // the pause the program sees, the unload's borrowed thread included
  auto callback = [&](uint64_t function, const char* point) {
    if (function && !finishing)
      run_callback(process, objects, RemoteAddr(function), fmt::format("{} callback of patch '{}'", point, id),
                   Clock::now() + kLoadPhaseTimeout);
  };
  callback(plan.patch.pre_revert, "pre-revert");  // docs/creator.md#callbacks: outside the stop, cannot refuse
  RegistryCommit commit;                           // 2. commit: the saved bytes back, in one stop
  commit.revert(id);
  StopReport stop = commit_in_stop(process, &plan.runtime, plan.before, plan.guarded, deadline,
                                   fmt::format("revert '{}'", id), commit);  // 3. release
  verbose::step(fmt::format("process {}: committed the revert of '{}' ({} us stopped)", process.pid(), id, stop.pause.count()));
  std::optional<Error> post_revert_failed;
  try {
    callback(plan.patch.post_revert, "post-revert");
  } catch (const Error& e) {
    post_revert_failed = Error(e.kind(), fmt::format("patch '{}' is reverted (its shadow variables freed), but {}", id,
                                                     e.what()));
  }
  dispose(plan.patch);  // 4. shadow variables freed; its code stays mapped
  if (post_revert_failed) throw *post_revert_failed;
  RevertReport report;
  static_cast<StopReport&>(report) = stop;
  report.functions = plan.patch.redirects.size();
  report.id = id;
  report.pause = holds.longest().held;
  report.pause_thread = holds.longest().tid;
  return report;
}

ApplyReport Patcher::apply(const PatchFile& patch, std::chrono::milliseconds timeout, const std::string& replace) {
  finish_interrupted(timeout);
  test_steps::Phase phase("apply");
  return apply_one(patch, timeout, replace);
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
    // A replace (apply --replace) journals the old patch "reverting" and the new one
    // "applying" after it: both are finished in one stop, so that no call runs the
    // original code of a function both replace.
    const PatchRecord* replacing = nullptr;
    if (pending->state == PatchState::Reverting)
      for (auto it = reg.patches.begin() + (pending - reg.patches.data()) + 1; !replacing && it != reg.patches.end(); ++it)
        if (it->state == PatchState::Applying) replacing = &*it;
    if (replacing) {
      const std::string new_id = replacing->id;
      if (std::string missing = complete_replace(id, new_id, timeout); missing.empty())
        fmt::print(stderr, "hotpatch: note: process {}: finished replacing '{}' with '{}', which an interrupted hotpatch "
                           "had left half done\n", process.pid(), id, new_id);
      else
        fmt::print(stderr, "hotpatch: note: process {}: dropped '{}', which an interrupted hotpatch had left half applied "
                           "in place of '{}': {}\n", process.pid(), new_id, id, missing);
    } else if (pending->state == PatchState::Applying) {
      if (std::string missing = complete_apply(id, timeout); missing.empty())
        fmt::print(stderr, "hotpatch: note: process {}: finished applying '{}', which an interrupted hotpatch had left "
                           "half done\n", process.pid(), id);
      else
        fmt::print(stderr, "hotpatch: note: process {}: dropped '{}', which an interrupted hotpatch had left half "
                           "applied: {}; its functions are back to what they were\n", process.pid(), id, missing);
    } else {
      revert_one(id, timeout, true);
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

std::string Patcher::complete_replace(const std::string& old_id, const std::string& new_id, std::chrono::milliseconds timeout) {
  Process& process = impl_->process;
  ForgetObjectsAtEnd forget{impl_};
  const TargetObjects& objects = impl_->objects();
  auto runtime = RuntimeRegistry::find(objects);
  if (!runtime) return "";
  RegistrySnapshot before = runtime->read(process);
  const PatchRecord* old_record = before.registry.find(old_id);
  const PatchRecord* new_record = before.registry.find(new_id);
  if (!old_record || !new_record) return "";
  const PatchRecord old_patch = *old_record;
  if (std::string missing = code_missing(*new_record, process.address_space()); !missing.empty()) {
    // Never a jump into code that is gone: the new record is dropped (its sites get
    // their saved bytes back) and the old one's revert is finished next, on its own.
    RegistryCommit drop;
    drop.abandon(new_id);
    commit_in_stop(process, &*runtime, before, guarded_for_apply(new_record->redirects, before.registry, new_id),
                   Clock::now() + timeout, fmt::format("drop '{}'", new_id), drop);
    return missing;
  }
  std::vector<GuardedRange> guarded = guarded_for_revert(old_patch);
  auto applying = guarded_for_apply(new_record->redirects, before.registry, new_id);
  guarded.insert(guarded.end(), applying.begin(), applying.end());
  RegistryCommit commit;
  commit.revert(old_id);
  commit.finish_apply(new_id);
  commit_in_stop(process, &*runtime, before, guarded, Clock::now() + timeout,
                 fmt::format("finish replacing '{}' with '{}'", old_id, new_id), commit);
  dispose(old_patch);
  return "";
}

}  // namespace hotpatch

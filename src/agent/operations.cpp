#include "agent/operations.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include "agent/patch_trust.h"
#include "common/error.h"
#include "common/verbose.h"
#include "loader/patch_plan.h"
#include "loader/process.h"
#include "loader/registry_commit.h"
#include "loader/runtime_registry.h"
#include "loader/target_objects.h"

namespace hotpatch::ops {

PatchFile accept_patch_file(const std::string& path, const std::string& action) {
  // Read once: the bytes judged are the bytes parsed and, later, loaded.
  std::string resolved;
  auto bytes = read_patch_bytes(path, resolved);
  check_file_is_trusted(resolved);
  // The signature first: a signed file changed anywhere is refused as such, not
  // as whatever the change broke in it.
  trust::Verdict verdict = check_trusted_bytes(*bytes, resolved, action);
  PatchFile patch = parse_patch_bytes(std::move(bytes), resolved);
  patch.signer = verdict.signer;
  return patch;
}

namespace {

// The record of a patch with this id, if any, when it is the same patch from the same
// file (same path, not modified since it was applied); Error(Conflict) when the id is
// taken by another file; nullptr when the id is free.
const PatchRecord* already_applied(pid_t pid, const Registry& reg, const PatchFile& patch) {
  const PatchRecord* p = reg.find(patch.id);
  if (!p) return nullptr;
  struct stat st{};
  bool same_file = p->path == patch.path && ::stat(patch.path.c_str(), &st) == 0 &&
                   static_cast<uint64_t>(st.st_mtime) <= p->applied_unix;
  if (!same_file)
    throw Error(ErrorKind::Conflict,
                fmt::format("process {}: a patch with id '{}' is already applied from {}{} (revert it first, or give "
                            "the new one another HOTPATCH_ID)",
                            pid, patch.id, p->path, p->path == patch.path ? ", and the file changed since" : ""));
  return p;
}

ApplyOutcome apply_unaudited(pid_t pid, const PatchFile& patch, std::chrono::milliseconds timeout) {
  Patcher patcher(pid);
  // A record a killed hotpatch left half done is finished first, so that "already
  // applied" is only ever said of a patch that is whole.
  patcher.finish_interrupted(timeout);
  ApplyOutcome outcome;
  const Registry reg = patcher.applied();
  if (const PatchRecord* p = already_applied(pid, reg, patch)) {
    outcome.already_applied = true;
    outcome.existing = *p;
    return outcome;
  }
  outcome.report = patcher.apply(patch, timeout);
  return outcome;
}

}  // namespace

ApplyOutcome apply_once(pid_t pid, const PatchFile& patch, std::chrono::milliseconds timeout) {
  trust::AuditEvent event = patch_event("apply", &patch);
  describe_target(event, pid);
  try {
    ApplyOutcome outcome = apply_unaudited(pid, patch, timeout);
    event.result = outcome.already_applied ? "already-applied" : "ok";
    if (!outcome.already_applied) event.pause_us = outcome.report.pause.count();
    audit(event);
    return outcome;
  } catch (const std::exception& e) {
    event.result = "failed";
    event.error = e.what();
    audit(event);
    throw;
  }
}

CheckOutcome check_apply(pid_t pid, const PatchFile& patch, std::chrono::milliseconds timeout) {
  Process process(pid);
  const TargetObjects objects(process, process.address_space());
  CheckOutcome out;
  auto runtime = RuntimeRegistry::find(objects);
  out.runtime_loaded = runtime.has_value();
  if (runtime) {
    Registry reg = runtime->read(process).registry;
    // apply finishes these first (it writes); a check only says so.
    for (const auto& p : reg.patches)
      if (p.state != PatchState::Applied)
        out.notes.push_back(fmt::format("patch '{}' was left half {} by a killed hotpatch: apply finishes that first", p.id,
                                        p.state == PatchState::Applying ? "applied" : "reverted"));
    if (const PatchRecord* p = already_applied(pid, reg, patch)) {
      out.already_applied = true;
      out.existing = *p;
      return out;
    }
  }
  ApplyPlan plan = plan_apply(process, objects, patch);  // what apply's first phase decides, and refuses
  verbose::step(fmt::format("process {}: planned '{}' ({} function{} resolved)", pid, patch.id, plan.redirects.size(),
                            plan.redirects.size() == 1 ? "" : "s"));
  objects.libc("load code into it");                     // the load phase calls dlopen, mmap... in libc
  for (const auto& r : plan.redirects) {
    CheckedFunction f;
    f.symbol = r.record.symbol;
    f.address = r.record.target;
    if (const LoadedObject* o = objects.object_containing(RemoteAddr(r.record.target))) f.object = o->path;
    if (const PatchRecord* below = plan.before.registry.top_patch_for(r.record.target)) f.stacked_on = below->id;
    out.functions.push_back(std::move(f));
  }
  RegistryCommit nothing;  // an empty commit: the stop checks, writes nothing, releases
  out.stop = commit_in_stop(process, plan.runtime ? &*plan.runtime : nullptr, plan.before, plan.guarded,
                            std::chrono::steady_clock::now() + timeout, fmt::format("apply '{}'", patch.id), nothing);
  out.stop.functions = plan.redirects.size();
  verbose::step(fmt::format("process {}: stopped and released ({} us, {} attempts)", pid, out.stop.pause.count(), out.stop.attempts));
  return out;
}

}  // namespace hotpatch::ops

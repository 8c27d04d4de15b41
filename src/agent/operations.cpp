#include "agent/operations.h"

#include <elf.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <optional>

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

std::optional<std::string> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Whether the file a patch was applied from (`applied_from`, at `applied_unix`) is
// still what was applied (not modified since), and `path` is that file or a copy of
// it (the patch installed for the agent is a copy).
bool same_patch_file(const std::string& applied_from, uint64_t applied_unix, const std::string& path) {
  struct stat st{};
  if (::stat(applied_from.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_mtime) > applied_unix) return false;
  if (applied_from == path) return true;
  auto a = file_bytes(applied_from), b = file_bytes(path);
  return a && b && *a == *b;
}

// The record of a patch with this id, if any, when it is the same patch from the same
// file (or an identical copy); Error(Conflict) when the id is taken by another file;
// nullptr when the id is free.
const PatchRecord* already_applied(pid_t pid, const Registry& reg, const PatchFile& patch) {
  const PatchRecord* p = reg.find(patch.id);
  if (!p) return nullptr;
  if (!same_patch_file(p->path, p->applied_unix, patch.path))
    throw Error(ErrorKind::Conflict,
                fmt::format("process {}: a patch with id '{}' is already applied from {}{} (revert it first, or give "
                            "the new one another HOTPATCH_ID)",
                            pid, patch.id, p->path, p->path == patch.path ? ", and the file changed since" : ""));
  return p;
}

// What the load phase's dlopen(RTLD_NOW) of the patch must bind: each global
// undefined symbol of the patch, exported by an object of the process or by the
// runtime apply would load. Not checked when the patch needs a library the process
// has not loaded (dlopen would load it too; we do not look for it as ld.so would).
void check_patch_symbols(pid_t pid, const TargetObjects& objects, const ApplyPlan& plan) {
  for (const auto& lib : plan.image->needed())
    if (!objects.find_object(lib)) return;
  std::optional<ElfImage> runtime;
  std::vector<std::string> missing;
  for (const auto& name : plan.image->undefined_symbols()) {
    if (objects.resolve_exported(name, {plan.patch->path})) continue;
    if (!runtime) runtime.emplace(ElfImage::open(plan.runtime_path));
    auto defs = runtime->find_symbols(name);
    if (std::any_of(defs.begin(), defs.end(), [](const ElfSymbol* s) { return s->dynamic && s->bind != STB_LOCAL; })) continue;
    missing.push_back(name);
  }
  if (!missing.empty())
    throw Error(ErrorKind::DoesNotFit,
                fmt::format("process {}: the patch needs '{}'{}, which no object in the process exports: loading it "
                            "(dlopen with RTLD_NOW) would fail", pid, missing.front(),
                            missing.size() > 1 ? fmt::format(" and {} more", missing.size() - 1) : ""));
}

ApplyOutcome apply_unaudited(pid_t pid, const PatchFile& patch, std::chrono::milliseconds timeout,
                             const std::string& replace) {
  Patcher patcher(pid);
  // A record a killed hotpatch left half done is finished first, so that "already
  // applied" is only ever said of a patch that is whole.
  patcher.finish_interrupted(timeout);
  ApplyOutcome outcome;
  const Registry reg = patcher.applied();
  if (!replace.empty() && replace == patch.id && reg.find(patch.id))
    throw Error(ErrorKind::Conflict, fmt::format("process {}: a patch with id '{}' is already applied; --replace {} would "
                                                 "replace it with itself (give the new one another HOTPATCH_ID)",
                                                 pid, patch.id, replace));
  if (const PatchRecord* p = already_applied(pid, reg, patch)) {
    outcome.already_applied = true;
    outcome.existing = *p;
    return outcome;
  }
  outcome.report = patcher.apply(patch, timeout, replace);
  return outcome;
}

}  // namespace

ApplyOutcome apply_once(pid_t pid, const PatchFile& patch, std::chrono::milliseconds timeout, const std::string& replace) {
  trust::AuditEvent event = patch_event("apply", &patch);
  if (!replace.empty()) event.replaced = replace;
  describe_target(event, pid);
  try {
    ApplyOutcome outcome = apply_unaudited(pid, patch, timeout, replace);
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
  check_patch_symbols(pid, objects, plan);
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

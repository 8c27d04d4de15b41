#include "loader/patch_plan.h"

#include <elf.h>

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

#include "common/error.h"
#include "loader/patch_load.h"
#include "loader/process.h"
#include "loader/register_use.h"
#include "loader/target_objects.h"

namespace hotpatch {

namespace {

// Mappings left free when a patch is loaded: its own (4-5, stubs, an unwind table),
// those of the runtime, and room for the program's next mmaps.
constexpr uint64_t kMappingsRoom = 1024;

// The newest patch before `own_id` (all of them if empty) that redirects `target`.
const PatchRecord* top_below(const Registry& registry, uint64_t target, const std::string& own_id) {
  const PatchRecord* top = nullptr;
  for (const auto& p : registry.patches) {
    if (!own_id.empty() && p.id == own_id) break;
    for (const auto& r : p.redirects)
      if (r.target == target) top = &p;
  }
  return top;
}

}  // namespace

std::vector<GuardedRange> guarded_for_apply(const std::vector<RedirectRecord>& redirects, const Registry& below,
                                            const std::string& own_id) {
  std::vector<GuardedRange> guarded;
  for (const auto& r : redirects) {
    guarded.push_back(
        {{RemoteAddr(r.target), RemoteAddr(r.target + r.target_size)}, fmt::format("function '{}'", r.symbol), true});
    if (const PatchRecord* p = top_below(below, r.target, own_id))
      for (const auto& b : p->redirects)
        if (b.target == r.target && b.replacement_size)
          guarded.push_back({{RemoteAddr(b.replacement), RemoteAddr(b.replacement + b.replacement_size)},
                             fmt::format("function '{}' of patch '{}'", b.replacement_name.empty() ? b.symbol : b.replacement_name,
                                         p->id),
                             true});
  }
  return guarded;
}

std::vector<GuardedRange> guarded_for_revert(const PatchRecord& patch) {
  std::vector<GuardedRange> guarded;
  if (patch.code.length)
    guarded.push_back({{RemoteAddr(patch.code.start), RemoteAddr(patch.code.start + patch.code.length)},
                       fmt::format("code of patch '{}'", patch.id)});
  for (const auto& s : patch.stubs)
    guarded.push_back({{RemoteAddr(s.start), RemoteAddr(s.start + s.length)}, fmt::format("a jump stub of patch '{}'", patch.id)});
  return guarded;
}

ApplyPlan plan_apply(Process& process, const TargetObjects& objects, const PatchFile& patch) {
  const pid_t pid = process.pid();
  ApplyPlan plan;
  plan.patch = &patch;
  plan.runtime = RuntimeRegistry::find(objects);
  if (plan.runtime) plan.before = plan.runtime->read(process);
  if (plan.before.registry.find(patch.id))
    throw Error(ErrorKind::Conflict, fmt::format("process {}: a patch with id '{}' is already applied (revert it first, or "
                                                 "give the new one another HOTPATCH_ID)",
                                                 pid, patch.id));
  plan.excluded = {patch.path};
  if (plan.runtime) plan.excluded.push_back(plan.runtime->runtime_path());
  for (const auto& p : plan.before.registry.patches) plan.excluded.push_back(p.path);
  // Reverted patches stay mapped (Patcher::dispose), so a target patched and reverted
  // thousands of times nears the kernel's limit on mappings; past it, the program's
  // own mmap (malloc) would fail. Leave it room.
  {
    std::ifstream limit_file("/proc/sys/vm/max_map_count");
    uint64_t limit = 0;
    const uint64_t used = objects.address_space().mappings().size();
    if (limit_file >> limit && used + kMappingsRoom > limit)
      throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: has {} memory mappings of at most {} (vm.max_map_count); "
                                                     "loading a patch could leave the program none (reverted patches stay "
                                                     "mapped: restart it, or raise the limit)", pid, used, limit));
  }
  // Code we loaded is never a place to resolve in: patches (reverted ones stay mapped,
  // Patcher::dispose) and `lib load` libraries, mapped from memfds (patch_load.h).
  // Copies of one patch share a path: each path once, thousands may be mapped.
  for (const auto& o : objects.objects())
    if ((objects.is_patch(o) || is_loaded_code_mapping(o.path)) &&
        std::find(plan.excluded.begin(), plan.excluded.end(), o.path) == plan.excluded.end())
      plan.excluded.push_back(o.path);

  if (patch.object) {
    plan.pinned = objects.find_object(*patch.object);
    if (!plan.pinned)
      throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: has no loaded object '{}' (HOTPATCH_OBJECT)", pid, *patch.object));
  }
  if (patch.build_id) {
    const LoadedObject* checked = plan.pinned ? plan.pinned : objects.main_executable();
    if (!checked) throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: cannot find its main executable to check the build-id", pid));
    auto actual = objects.image(*checked).build_id();
    if (!actual || *actual != *patch.build_id)
      throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: build-id mismatch: the patch is for {}, {} has {}", pid,
                                                     *patch.build_id, checked->path, actual ? *actual : "none"));
  }

  // The bytes read (and judged) once, never the path again (docs/security.md).
  if (!patch.bytes) throw Error(ErrorKind::Internal, fmt::format("{}: the patch's bytes were not read", patch.path));
  plan.image = std::make_unique<ElfImage>(ElfImage::from_bytes(*patch.bytes, patch.path));
  for (const auto& rep : patch.replacements) {
    ResolvedSymbol target = objects.resolve(rep.target_symbol, plan.pinned, true, plan.excluded);
    if (target.symbol.type == STT_GNU_IFUNC)
      throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: '{}' in {} is an IFUNC resolver; patch the implementation "
                                                     "it selects instead", pid, rep.target_symbol, target.object->path));
    if (target.symbol.size == 0)
      throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: '{}' in {} has no size in the symbol table; cannot check "
                                                     "that a jump fits", pid, rep.target_symbol, target.object->path));
    for (const auto& other : plan.redirects)
      if (other.record.target == target.address.value())
        throw Error(ErrorKind::BadPatchFile, fmt::format("{}: replaces '{}' and '{}', which are the same function at {}",
                                                         patch.path, other.record.symbol, rep.target_symbol, target.address));
    auto entry = process.read_bytes(target.address, std::min<uint64_t>(target.symbol.size, 16));
    size_t keep = arch::entry_prologue_to_keep(entry);
    if (target.symbol.size < keep + arch::kNearJumpSize)
      throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: function '{}' at {} is {} bytes, too short for a {}-byte "
                                                     "jump", pid, rep.target_symbol, target.address, target.symbol.size,
                                                     keep + arch::kNearJumpSize));
    PlannedRedirect& p = plan.redirects.emplace_back();
    p.record.symbol = rep.target_symbol;
    p.record.replacement_name = rep.replacement_name;
    p.record.target = target.address.value();
    p.record.target_size = target.symbol.size;
    p.record.patch_site = target.address.value() + keep;
    p.record.replacement_size = rep.replacement_size;
    p.replacement_vaddr = rep.replacement_vaddr;
    p.preserve = registers_to_preserve(objects.image(*target.object), target.symbol.value, target.symbol.size,
                                       *plan.image, rep.replacement_vaddr, rep.replacement_size);
    p.record.preserved = p.preserve.to_mask();
  }
  for (const auto& ref : patch.refs)
    plan.refs.emplace_back(ref.slot_vaddr, objects.resolve(ref.target_symbol, plan.pinned, false, plan.excluded).address);

  if (patch.link_near) {
    plan.near_linker.emplace(*plan.image, patch);
    plan.near_linker->resolve(objects, plan.pinned, plan.excluded);
  }

  plan.runtime_path = plan.runtime ? plan.runtime->runtime_path() : locate_runtime_library();
  if (!plan.runtime) check_file_is_trusted(plan.runtime_path);

  std::vector<RedirectRecord> records;
  for (const auto& p : plan.redirects) records.push_back(p.record);
  plan.guarded = guarded_for_apply(records, plan.before.registry);
  return plan;
}

RevertPlan plan_revert(Process& process, const TargetObjects& objects, const std::string& id) {
  const pid_t pid = process.pid();
  auto runtime = RuntimeRegistry::find(objects);
  if (!runtime) throw Error(ErrorKind::Conflict, fmt::format("process {}: no patch '{}' is applied (no patch was ever applied)", pid, id));
  RegistrySnapshot before = runtime->read(process);
  const PatchRecord* found = before.registry.find(id);
  if (!found) throw Error(ErrorKind::Conflict, fmt::format("process {}: no patch '{}' is applied (see: hotpatch -p {} list)", pid, id, pid));
  for (const auto& r : found->redirects) {
    const PatchRecord* top = before.registry.top_patch_for(r.target);
    if (top && top->id != id)
      throw Error(ErrorKind::Conflict, fmt::format("process {}: patch '{}' is applied on top of '{}' (function '{}'); revert "
                                                   "'{}' first", pid, top->id, id, r.symbol, top->id));
  }
  objects.libc("unload code from it");  // checked now: after the stop, the unload needs it
  PatchRecord patch = *found;
  std::vector<GuardedRange> guarded = guarded_for_revert(patch);
  return RevertPlan{*runtime, std::move(before), std::move(patch), std::move(guarded)};
}

}  // namespace hotpatch

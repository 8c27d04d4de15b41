// The first phase of apply and revert: everything decided from files and /proc while
// the target is untouched. Bad input ends here; nothing in the target has changed.
//
//   plan -> load (patch_load.h) -> commit, inside one stop (registry_commit.h) -> release
//
// A plan says what must be idle in the stop (`guarded`) and what the registry was
// when it was made (`before`): the stop refuses to go on if the registry changed
// meanwhile (another hotpatch), so what the plan checked still holds there.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arch/arch.h"
#include "common/registry.h"
#include "elf/elf_image.h"
#include "elf/patch_file.h"
#include "loader/activity.h"
#include "loader/near_linker.h"
#include "loader/runtime_registry.h"

namespace hotpatch {

class Process;
class TargetObjects;

// One planned redirect. `record` has the target, the site and the sizes; the load
// fills in where the entry jumps (replacement, stub, written bytes); the commit
// fills in the saved bytes, read inside the stop.
struct PlannedRedirect {
  RedirectRecord record;
  uint64_t replacement_vaddr = 0;  // in the patch file
  arch::RegisterSet preserve;      // registers callers may keep across the old function
};

struct ApplyPlan {
  ApplyPlan() = default;
  ApplyPlan(ApplyPlan&&) = default;  // near_linker refers to *image and *patch, which do not move
  ApplyPlan(const ApplyPlan&) = delete;

  const PatchFile* patch = nullptr;
  std::unique_ptr<ElfImage> image;        // the patch file's
  std::optional<RuntimeRegistry> runtime; // nullopt: the load phase loads the runtime first
  std::string runtime_path;               // the runtime loaded, or the one to load
  RegistrySnapshot before;                // the registry the plan was checked against (empty without a runtime)
  const LoadedObject* pinned = nullptr;   // HOTPATCH_OBJECT, if any
  std::vector<std::string> excluded;      // objects symbols are never resolved in: the runtime, patches
  std::vector<PlannedRedirect> redirects;
  std::vector<std::pair<uint64_t, RemoteAddr>> refs;  // HOTPATCH_REF slot (link-time vaddr) -> target address
  std::optional<NearLinker> near_linker;              // for HOTPATCH_LINK_NEAR patches
  // Code no thread may run when the jumps are written: each replaced function and
  // whatever stands in for it now (the replacement of a patch below).
  std::vector<GuardedRange> guarded;
};

// Reads the patch file and the target's objects, resolves every symbol, checks
// build-id, sizes and duplicates. Throws Error (DoesNotFit, Conflict, BadPatchFile).
ApplyPlan plan_apply(Process& process, const TargetObjects& objects, const PatchFile& patch);

struct RevertPlan {
  RuntimeRegistry runtime;
  RegistrySnapshot before;
  PatchRecord patch;                   // as recorded
  std::vector<GuardedRange> guarded;   // its code and stubs
};

// Checks that `id` is applied and that no other patch sits on it. Throws
// Error(Conflict) otherwise.
RevertPlan plan_revert(Process& process, const TargetObjects& objects, const std::string& id);

// The ranges an apply of `record` guards, given the registry it goes on top of:
// each function it replaces, and each replacement of a patch below it for that
// function. Used by plan_apply and by the completion of an interrupted apply.
std::vector<GuardedRange> guarded_for_apply(const std::vector<RedirectRecord>& redirects, const Registry& below,
                                            const std::string& own_id = "");
// The ranges a revert of `record` guards: the patch's code and its stub pages.
std::vector<GuardedRange> guarded_for_revert(const PatchRecord& record);

}  // namespace hotpatch

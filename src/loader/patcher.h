// Patcher: applies and reverts patches in one running process.
//
// Apply is four phases, each in its own file and each owning its undo
// (docs/design.md):
//  1. plan (patch_plan.h): read the patch file and the target's objects, resolve
//     every symbol, check sizes and build-ids; bad input ends here, target untouched;
//  2. load (patch_load.h): on one borrowed thread, while the others run, dlopen the
//     Core Runtime (once) and the patch with RTLD_NOW, map stubs near the functions,
//     fill the patch's references; a PatchLoad unloads all that unless kept;
//  3. commit (registry_commit.h): every thread stopped, stacks read once, activeness
//     checked, journal + jumps + registry written, or all of it undone in the same
//     stop; retried while a function is busy;
//  4. release: everyone resumed (the end of the stop); the load is kept, or unloaded.
// Revert: plan, commit (the saved bytes back), release, then unload the patch.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/registry.h"
#include "elf/patch_file.h"
#include "loader/registry_commit.h"

namespace hotpatch {

struct ApplyReport : StopReport {
  // The first apply into a process also loads the runtime: how long that dlopen
  // took in the target (0 when the runtime was there already).
  std::chrono::microseconds runtime_load{0};
  PatchRecord record;
  std::vector<std::string> notes;  // applied, but something worth knowing (e.g. no unwinder)
};

struct RevertReport : StopReport {
  std::string id;
};

class Patcher {
 public:
  explicit Patcher(pid_t pid);
  ~Patcher();

  // apply, revert and revert_all first finish what a killed CLI left half done
  // (finish_interrupted).
  ApplyReport apply(const PatchFile& patch, std::chrono::milliseconds timeout);
  RevertReport revert(const std::string& id, std::chrono::milliseconds timeout);
  // Newest first; stops at the first failure (what was reverted stays reverted).
  std::vector<RevertReport> revert_all(std::chrono::milliseconds timeout);
  // The patches applied, oldest first (empty if the runtime was never loaded).
  Registry applied();

  // A CLI killed inside the stop leaves a record that is not Applied (see
  // PatchState). This rolls each one forward: an interrupted apply gets its missing
  // jumps (with the world stopped and the functions inactive, as any apply) if its
  // code is still mapped, else its saved bytes back and its record dropped; an
  // interrupted revert gets its missing original bytes, and is then unloaded. Says
  // what it did on stderr. Throws like apply/revert (Busy, Conflict...).
  void finish_interrupted(std::chrono::milliseconds timeout);

  struct Impl;  // named by helpers in patcher.cpp

 private:
  ApplyReport apply_one(const PatchFile& patch, std::chrono::milliseconds timeout);
  RevertReport revert_one(const std::string& id, std::chrono::milliseconds timeout);
  // Rolls an interrupted apply forward, or back when its code is gone (then returns
  // why; "" when it was finished).
  std::string complete_apply(const std::string& id, std::chrono::milliseconds timeout);

  Impl* impl_;
};

}  // namespace hotpatch

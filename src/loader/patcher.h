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
// Revert: plan, commit (the saved bytes back), release, then free the patch's shadow
// variables; its code stays mapped (the program may hold pointers into it).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/registry.h"
#include "elf/patch_file.h"
#include "loader/patch_callbacks.h"
#include "loader/registry_commit.h"

namespace hotpatch {

struct ApplyReport : StopReport {
  // The first apply into a process also loads the runtime: how long that dlopen
  // took in the target (0 when the runtime was there already).
  std::chrono::microseconds runtime_load{0};
  PatchRecord record;
  std::vector<std::string> notes;  // applied, but something worth knowing (e.g. no unwinder)
  std::string replaced;            // apply --replace: the patch reverted in the same stop
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
  // With `replace` (apply --replace OLD_ID, docs/creator.md#cumulative-patches-and-replace):
  // applies `patch` and reverts patch `replace` in the same stop, so that no call
  // runs the original code of a function both replace; the old patch's code stays
  // mapped after the stop (as after a revert). Callbacks (docs/creator.md#callbacks) run around the stop: the
  // new patch's pre-apply (a non-zero return: Error(Refused), nothing changed) and
  // post-apply; the replaced patch's run none.
  ApplyReport apply(const PatchFile& patch, std::chrono::milliseconds timeout, const std::string& replace = "");
  RevertReport revert(const std::string& id, std::chrono::milliseconds timeout);
  // Newest first; stops at the first failure (what was reverted stays reverted).
  std::vector<RevertReport> revert_all(std::chrono::milliseconds timeout);
  // The patches applied, oldest first (empty if the runtime was never loaded).
  Registry applied();
  // The shadow variables that exist in the process (all zero without a runtime).
  ShadowStats shadow_stats();
  // Copies of reverted patches still mapped (a revert keeps a patch's code and data:
  // the program may hold pointers into them), as /proc/PID/maps shows them: patch
  // objects no applied patch's code lies in. A near-linked patch and jump stubs are
  // anonymous memory, not counted.
  struct KeptCode {
    size_t copies = 0;
    uint64_t bytes = 0;
  };
  KeptCode kept_code();

  // A CLI killed inside the stop leaves a record that is not Applied (see
  // PatchState). This rolls each one forward: an interrupted apply gets its missing
  // jumps (with the world stopped and the functions inactive, as any apply) if its
  // code is still mapped, else its saved bytes back and its record dropped; an
  // interrupted revert gets its missing original bytes (its code then stays mapped). Says
  // what it did on stderr. Throws like apply/revert (Busy, Conflict...).
  void finish_interrupted(std::chrono::milliseconds timeout);

  struct Impl;  // named by helpers in patcher.cpp

 private:
  ApplyReport apply_one(const PatchFile& patch, std::chrono::milliseconds timeout, const std::string& replace);
  // `finishing`: completing what a killed CLI left "reverting": its callbacks ran
  // (or not) in that CLI, none runs again.
  RevertReport revert_one(const std::string& id, std::chrono::milliseconds timeout, bool finishing = false);
  // Rolls an interrupted apply forward, or back when its code is gone (then returns
  // why; "" when it was finished).
  std::string complete_apply(const std::string& id, std::chrono::milliseconds timeout);
  // A replace a killed CLI left half done: the old record "reverting", the new one
  // "applying"; both finished in one stop, as the replace would have. When the new
  // one's code is gone, only its record is dropped (its saved bytes back) and the
  // old one's revert is finished next; returns why ("" when finished).
  std::string complete_replace(const std::string& old_id, const std::string& new_id, std::chrono::milliseconds timeout);
  // The runtime, loaded (globally, so a dlopen()ed patch binds to it) before the plan
  // when the patch calls it or declares shadow variable ids; returns how long loading
  // it took when it was not there (else 0).
  std::chrono::microseconds prepare_runtime(const PatchFile& patch, std::chrono::steady_clock::time_point deadline);
  // After the stop that reverted `patch` (or replaced it): its shadow ids released,
  // its code left mapped (dispose in patcher.cpp says why); failures are warnings.
  void dispose(const PatchRecord& patch);

  Impl* impl_;
};

}  // namespace hotpatch

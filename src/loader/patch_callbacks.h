// A patch's own code run inside the target at fixed points of apply and revert
// (HOTPATCH_PRE_APPLY ... HOTPATCH_POST_REVERT; docs/creator.md#callbacks), and
// the runtime told which shadow variable ids a patch owns (HOTPATCH_SHADOW_ID;
// docs/creator.md#shadow-variables).
//
// Every call borrows one thread (acquire_thread_for_calls) while the program's
// other threads run: never inside the stop, where a callback that takes one of
// the program's locks would wait for a stopped thread holding it. A callback runs
// on the runtime's own thread (its control thread, or one it starts for this,
// "hotpatch-call"): a borrowed program thread may itself hold the lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/remote_ptr.h"
#include "elf/elf_image.h"
#include "elf/patch_file.h"

namespace hotpatch {

class Process;
class TargetObjects;

// Whether the patch calls the runtime's shadow variable functions (an undefined
// hotpatch_shadow_* symbol of the patch, or a creator reference to one).
bool uses_runtime_api(const ElfImage& patch_image, const PatchFile& patch);
// dlopen(runtime, RTLD_NOW | RTLD_GLOBAL) on a borrowed thread: loads the runtime
// if the process has none, or makes the one it has global (an earlier apply loads
// it RTLD_LOCAL), so that a dlopen()ed patch's references to it resolve.
void load_runtime_globally(Process& process, const TargetObjects& objects, const std::string& runtime_path,
                           std::chrono::steady_clock::time_point deadline);

// Calls `function` (an `int fn(void)` or `void fn(void)` of a loaded patch) on a
// borrowed thread and returns its int result. `what` names it in errors
// ("pre-apply callback check_ready of patch 'fix'"). A fault inside it is not
// delivered to the program: Error(Internal), the thread put back.
int run_callback(Process& process, const TargetObjects& objects, RemoteAddr function, const std::string& what,
                 std::chrono::steady_clock::time_point deadline);

// Tells the runtime (loaded: `objects` must show it) that patch `patch_id` owns
// `ids`, so that shadows of them can be allocated; claiming twice is harmless.
// Throws Error naming the patch if the runtime refuses (too many ids) or has no
// shadow variables (a runtime of an older hotpatch).
void claim_shadow_ids(Process& process, const TargetObjects& objects, const std::string& patch_id,
                      const std::vector<PatchShadowId>& ids, std::chrono::steady_clock::time_point deadline);
// Drops the claims of `patch_id`; the runtime frees every shadow of an id no
// applied patch claims any more. Returns how many shadows it freed.
uint64_t release_shadow_ids(Process& process, const TargetObjects& objects, const std::string& patch_id,
                            std::chrono::steady_clock::time_point deadline);

// The shadow variables that exist in the process now (the runtime's counters, read
// through /proc/PID/mem: no thread is borrowed). Zero without a runtime.
struct ShadowStats {
  uint64_t live = 0, bytes = 0, claims = 0;
};
ShadowStats read_shadow_stats(const Process& process, const TargetObjects& objects);

// Undoes claim_shadow_ids when an apply fails after it, unless kept.
class ShadowClaim {
 public:
  ShadowClaim(Process& process, const TargetObjects& objects, const PatchFile& patch,
              std::chrono::steady_clock::time_point deadline);
  ~ShadowClaim();
  ShadowClaim(const ShadowClaim&) = delete;
  ShadowClaim& operator=(const ShadowClaim&) = delete;
  void keep() { kept_ = true; }

 private:
  Process& process_;
  const TargetObjects& objects_;
  std::string id_;
  bool claimed_ = false, kept_ = false;
};

}  // namespace hotpatch

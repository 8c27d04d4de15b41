// The commit phase of apply and revert: with every thread stopped and the guarded
// code idle, the registry's journal and the entry bytes change together, or not at
// all.
//
// A RegistryCommit is a list of operations on patches, run in order inside one stop:
// apply a loaded patch, revert an applied one, finish or abandon an apply a killed
// CLI left half done. Any mix is one transaction:
//   1. every site's bytes are read once and checked (what each operation expects
//      there, given the operations before it in the same commit);
//   2. the journal: one registry write marking each patch "applying"/"reverting",
//      with every saved byte (a CLI killed from here on leaves it for the next CLI,
//      which finishes it: Patcher::finish_interrupted);
//   3. the entry bytes, in operation order;
//   4. the final registry.
// If anything fails after the first write, the same stop puts back every byte as it
// was at step 1 and the registry as it was, then rethrows: nothing is left behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/registry.h"
#include "loader/activity.h"
#include "loader/runtime_registry.h"

namespace hotpatch {

class Process;

struct StopReport {
  size_t functions = 0;
  int attempts = 0;
  // The longest any thread of the program was held, from its interrupt to its
  // detach, and which (a borrowed thread's remote calls count: HoldWatch).
  std::chrono::microseconds pause{0};
  pid_t pause_thread = 0;
  size_t threads = 0;
};

class RegistryCommit {
 public:
  // Adds `record` (state and saved bytes are set in the stop) on top of the patches
  // applied. Each redirect's `written` must be set.
  void apply(PatchRecord record);
  // Removes patch `id` and restores its saved bytes. It must be the newest patch of
  // each function it redirects (after the operations before it).
  void revert(const std::string& id);
  // A record left "applying": writes the jumps still missing and marks it applied.
  void finish_apply(const std::string& id);
  // A record left "applying" whose code is no longer in the target: restores the
  // saved bytes where a jump was written, and drops the record.
  void abandon(const std::string& id);
  bool empty() const { return ops_.empty(); }

  // Inside the stop: checks, journal, bytes, registry (see the top). `snap` is the
  // registry as read inside the stop; it describes the target's registry afterwards.
  // Throws Error(Conflict) when a site or the registry is not as expected (nothing
  // written then), or whatever failed after the first write (everything undone).
  void run(const Process& process, const RuntimeRegistry& runtime, RegistrySnapshot& snap);

  // After a failed run(): true if the undo itself failed, so the journal may still
  // name code in the target: that code must stay loaded (the next CLI finishes it).
  bool undo_incomplete() const { return undo_incomplete_; }
  // After run(): the records of apply() as committed (with saved bytes).
  const std::vector<PatchRecord>& applied() const { return applied_; }

 private:
  enum class Kind { Apply, Revert, FinishApply, Abandon };
  struct Op {
    Kind kind;
    PatchRecord record;  // Apply: the new record; otherwise looked up by id in the stop
    std::string id;
  };
  std::vector<Op> ops_;
  std::vector<PatchRecord> applied_;
  bool undo_incomplete_ = false;
};

// Stops every thread once nothing in `guarded` is active and the registry is not
// locked by the runtime, retrying until `deadline` (then Error(Busy)); checks that
// the registry is still at `before`'s generation (else Error(Conflict): another
// hotpatch changed it since the plan); runs `commit`; releases everyone.
// `runtime` may be null when the process has no runtime yet (nothing to commit
// then): an empty commit is a dry run of the stop.
StopReport commit_in_stop(Process& process, const RuntimeRegistry* runtime, const RegistrySnapshot& before,
                          const std::vector<GuardedRange>& guarded, std::chrono::steady_clock::time_point deadline,
                          const std::string& action, RegistryCommit& commit);

}  // namespace hotpatch

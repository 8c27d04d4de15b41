// Patcher: applies and reverts patches in one running process.
//
// The flow keeps the world-stopped window short (docs/design.md):
//  1. before: read the patch file and the target's objects, resolve every symbol,
//     check sizes and build-ids, refuse bad input before touching the target;
//  2. load: on one borrowed thread, while the others run, dlopen the Core Runtime
//     (once) and the patch with RTLD_NOW, map far-jump stubs near the functions,
//     fill the patch's references;
//  3. stop: every thread stopped, stacks read once, activeness checked, jumps and the
//     registry written, everyone resumed; retried while a function is busy;
//  4. after: report. On failure the patch is unloaded and nothing stays changed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/registry.h"
#include "elf/patch_file.h"

namespace hotpatch {

struct StopReport {
  size_t functions = 0;
  int attempts = 0;
  std::chrono::microseconds pause{0};  // first thread stopped to last resumed, successful attempt
  size_t threads = 0;
};

struct ApplyReport : StopReport {
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
  // jumps (with the world stopped and the functions inactive, as any apply), an
  // interrupted revert its missing original bytes, and is then unloaded. Says what
  // it did on stderr. Throws like apply/revert (Busy, Conflict...).
  void finish_interrupted(std::chrono::milliseconds timeout);

  struct Impl;  // named by helpers in patcher.cpp

 private:
  ApplyReport apply_one(const PatchFile& patch, std::chrono::milliseconds timeout);
  RevertReport revert_one(const std::string& id, std::chrono::milliseconds timeout);
  void complete_apply(const std::string& id, std::chrono::milliseconds timeout);

  Impl* impl_;
};

}  // namespace hotpatch

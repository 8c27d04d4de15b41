// The load phase of apply, and the unload that ends a revert: code put into the
// target (or taken out of it) on one borrowed thread while the other threads run.
//
// PatchLoad owns what it loaded until the registry does: its destructor unloads it
// (dlclose, stub pages unmapped, unwind tables deregistered) unless keep() was called
// after a successful commit. So an apply that fails anywhere after the load leaves
// nothing in the target, with no catch block to forget.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/registry.h"
#include "common/remote_ptr.h"
#include "loader/runtime_registry.h"

namespace hotpatch {

class Process;
class RemoteCall;
class TargetObjects;
struct ApplyPlan;

// What a patch put into the target besides its jumps.
struct LoadedCode {
  uint64_t handle = 0;                  // dlopen handle (0 for a near-linked patch)
  std::vector<MemoryBlock> stubs;       // pages we mapped: stubs, a near-linked patch, unwind tables
  std::vector<uint64_t> unwind_tables;  // registered with the target's unwinder
  bool empty() const { return handle == 0 && stubs.empty(); }
};

// Before a dlopen(path) on thread `tid` of the target: `path` must name, in its mount
// namespace (/proc/PID/task/TID/root), the very file (device and inode) the CLI checked here;
// else Error(DoesNotFit): a container's file of the same name, or a mount over it, is
// never loaded in its place. (The file may still be swapped between this check and
// the dlopen: check_file_is_trusted made sure only root or its owner could.)
void check_same_file_in_target(const Process& process, pid_t tid, const std::string& path);
// How /proc/PID/maps names a patch loaded with dlopen: its bytes are mapped from a
// memfd ("hotpatch:ID"), never from the file (docs/security.md); the runtime's
// `lib load` does the same ("hotpatch-lib:NAME").
std::string patch_mapping_name(const std::string& id);
// Whether a mapping's path is such a memfd: code we loaded, never a place to
// resolve the target's symbols in.
bool is_loaded_code_mapping(const std::string& path);

// Deregisters the unwind tables, unmaps the pages and dlcloses the handle, on a
// borrowed thread. Throws Error; what was undone before the failure stays undone.
void unload_code(Process& process, const TargetObjects& objects, const LoadedCode& code);

class PatchLoad {
 public:
  // `objects`: the target as the plan saw it (they must outlive this object).
  PatchLoad(Process& process, const TargetObjects& objects);
  // Unloads what was loaded unless keep() was called; never throws (a failure to
  // unload is a warning on stderr: the patch stays mapped, nothing jumps to it).
  ~PatchLoad();
  PatchLoad(const PatchLoad&) = delete;
  PatchLoad& operator=(const PatchLoad&) = delete;

  // Borrows a thread (acquire_thread_for_calls, until `deadline`), dlopens the
  // runtime if the plan has none yet, then the patch (or links it near), maps the
  // stubs it needs, registers unwind tables, fills its references. Fills in each
  // planned redirect's replacement, stub and written bytes. Throws Error; what was
  // loaded before the failure is unloaded by the destructor.
  void load(ApplyPlan& plan, std::chrono::steady_clock::time_point deadline);

  // After load(): the runtime's registry (it may have been loaded just now) and the
  // registry as it was then (the plan's, if the runtime was there already).
  const RuntimeRegistry& runtime() const { return *runtime_; }
  const RegistrySnapshot& registry_before() const { return before_; }
  // The record the commit adds: redirects without saved bytes (read in the stop).
  PatchRecord record(const ApplyPlan& plan) const;
  const std::vector<std::string>& notes() const { return notes_; }
  // How long the runtime's dlopen took, when load() loaded it (else 0).
  std::chrono::microseconds runtime_load() const { return runtime_load_; }

  // The commit succeeded: the registry owns the loaded code now.
  void keep() { kept_ = true; }

 private:
  Process& process_;
  const TargetObjects& objects_;
  LoadedCode code_;
  int64_t bias_ = 0;  // the patch's load bias
  std::optional<RuntimeRegistry> runtime_;
  RegistrySnapshot before_;
  std::vector<std::string> notes_;
  std::chrono::microseconds runtime_load_{0};
  bool kept_ = false;
};

}  // namespace hotpatch

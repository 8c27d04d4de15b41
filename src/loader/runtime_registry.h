// RuntimeRegistry: the registry inside the target's Core Runtime, read and written
// from outside through /proc/PID/mem (layout in common/registry_layout.h).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/registry.h"
#include "common/remote_ptr.h"

namespace hotpatch {

class Process;
class TargetObjects;
struct LoadedObject;

struct RegistrySnapshot {
  Registry registry;
  uint64_t generation = 0;
  uint32_t lock_holder = 0;  // tid of an in-process writer, 0 if free
  uint64_t offset = 0;       // which half of the data area holds the encoding
  uint64_t used = 0;         // its length
  bool fresh = true;         // nothing was ever written (all-zero header)
};

class RuntimeRegistry {
 public:
  // The runtime loaded in the target, if any (an object exporting the registry).
  static std::optional<RuntimeRegistry> find(const TargetObjects& objects);

  const std::string& runtime_path() const { return runtime_path_; }
  RemoteAddr address() const { return address_; }

  // Throws Error(Conflict) for a runtime of another layout version or a corrupt registry.
  // With `hint` (a snapshot read earlier, outside the stop), header and data come in
  // one read when nothing changed since: inside the stop every syscall counts.
  RegistrySnapshot read(const Process& process, const RegistrySnapshot* hint = nullptr) const;
  // Encodes and publishes `snap.registry` with generation `snap.generation + 1`, and
  // updates `snap` to describe what is now in the target (so it can be written again).
  // Kill-safe: until the final header write the previous registry stays in force.
  void write(const Process& process, RegistrySnapshot& snap) const;

 private:
  RuntimeRegistry(std::string path, RemoteAddr address) : runtime_path_(std::move(path)), address_(address) {}
  std::string runtime_path_;
  RemoteAddr address_;
};

// The thread id of the loaded runtime's control-server thread, if it runs one (a
// runtime linked in, preloaded or injected with `hotpatch inject`); nullopt otherwise.
std::optional<pid_t> runtime_control_thread(const Process& process, const TargetObjects& objects);

// Where this hotpatch's own runtime is: $HOTPATCH_RUNTIME, else libhotpatch.so.N next
// to the executable (build tree), else in the libdir it was installed with
// (common/paths.h). Throws Error(Internal) if none.
std::string locate_runtime_library();

// Refuses (Error(BadPatchFile)) a file that another user could have written: it is
// about to run inside someone's process.
void check_file_is_trusted(const std::string& path);

}  // namespace hotpatch

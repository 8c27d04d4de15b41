// RuntimeRegistry: the registry inside the target's Core Runtime, read and written
// from outside through /proc/PID/mem (layout in common/registry_layout.h).
#pragma once

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
};

class RuntimeRegistry {
 public:
  // The runtime loaded in the target, if any (an object exporting the registry).
  static std::optional<RuntimeRegistry> find(const TargetObjects& objects);

  const std::string& runtime_path() const { return runtime_path_; }
  RemoteAddr address() const { return address_; }

  // Throws Error(Conflict) for a runtime of another layout version or a corrupt registry.
  RegistrySnapshot read(const Process& process) const;
  // Encodes and writes `registry` with generation `previous_generation + 1`.
  void write(const Process& process, const Registry& registry, uint64_t previous_generation) const;

 private:
  RuntimeRegistry(std::string path, RemoteAddr address) : runtime_path_(std::move(path)), address_(address) {}
  std::string runtime_path_;
  RemoteAddr address_;
};

// Where this hotpatch's own libhotpatch.so is: $HOTPATCH_RUNTIME, else next to the
// executable (build tree), else ../lib (installed). Throws Error(Internal) if none.
std::string locate_runtime_library();

// Refuses (Error(BadPatchFile)) a file that another user could have written: it is
// about to run inside someone's process.
void check_file_is_trusted(const std::string& path);

}  // namespace hotpatch

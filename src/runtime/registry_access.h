// RegistryTransaction: in-process access to the registry of applied changes (the
// `hotpatch_registry` object the ptrace Loader also reads and writes), so that
// `func upgrade/rollback` show up in `hotpatch -p PID list` and a later ptrace
// apply/revert sees them. Holding a transaction holds the registry's `lock` field
// (our tid; the Loader retries while it is non-zero).
#pragma once

#include <optional>
#include <string>

#include "common/registry.h"

namespace hotpatch::runtime {

class RegistryTransaction {
 public:
  // Waits (a few seconds at most) for the lock, taking it over from a holder that is
  // no thread of this process any more; nullopt with `error` if it stays held, or if
  // the registry is corrupt or of another layout.
  static std::optional<RegistryTransaction> begin(std::string& error);
  RegistryTransaction(RegistryTransaction&& other) noexcept : registry(std::move(other.registry)), generation_(other.generation_), held_(other.held_) {
    other.held_ = false;
  }
  RegistryTransaction(const RegistryTransaction&) = delete;
  RegistryTransaction& operator=(const RegistryTransaction&) = delete;
  ~RegistryTransaction();

  // Writes `registry` back (generation + 1). False if it does not fit.
  bool commit(std::string& error);

  Registry registry;

 private:
  RegistryTransaction() = default;
  uint64_t generation_ = 0;
  bool held_ = false;
};

}  // namespace hotpatch::runtime

// AddressSpace: the target's mappings as /proc/PID/maps shows them at one moment.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/remote_ptr.h"

namespace hotpatch {

struct Mapping {
  RemoteRange range;
  bool readable = false, writable = false, executable = false, shared = false;
  uint64_t offset = 0;
  uint64_t inode = 0;
  std::string device;
  std::string path;  // empty for anonymous; "[stack]", "[vdso]", ... for special ones

  bool is_file() const { return inode != 0 && !path.empty() && path[0] == '/'; }
};

class AddressSpace {
 public:
  // Reads a maps file (/proc/PID/maps, or a live thread's when the leader is gone).
  // Throws Error(Target) "process PID: exited" when it no longer exists.
  static AddressSpace read(pid_t pid, const std::string& maps_path);
  // Parses maps text (tests).
  static AddressSpace parse(const std::string& text);

  const std::vector<Mapping>& mappings() const { return mappings_; }
  const Mapping* find(RemoteAddr addr) const;

  // A page-aligned free range of `length` bytes whose every byte is within `reach`
  // of `near`, as close to `near` as possible; nullopt if there is none.
  std::optional<RemoteAddr> free_range_near(RemoteAddr near, uint64_t length, int64_t reach) const;

 private:
  std::vector<Mapping> mappings_;  // sorted by start
};

}  // namespace hotpatch

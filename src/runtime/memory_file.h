// MemoryFile: a sealed memfd holding bytes already read and judged, for dlopen to
// map (`lib load`): the library on disk is read once, and a file changed after its
// signature was checked is not what runs (docs/security.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hotpatch::runtime {

class MemoryFile {
 public:
  // memfd_create(name); /proc/PID/maps then shows "/memfd:NAME (deleted)".
  explicit MemoryFile(const std::string& name);
  ~MemoryFile();  // closes the descriptor; a mapping of it stays valid
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  // Writes `bytes` and seals the file against any change. False with `error` set.
  bool fill(const std::vector<uint8_t>& bytes, std::string& error);
  // A /proc/self/fd/N path for dlopen that no loaded object has as its name:
  // dlopen returns an object already loaded under the same name without opening
  // anything, and an earlier library's descriptor number may be this one's.
  bool unique_dlopen_name(std::string& path, std::string& error);
  // Gives up the descriptor (the caller closes it): `lib load` keeps it open while
  // the library is loaded, so that `func upgrade`'s helper can read the library's
  // ELF through /proc/PID/fd (it has no path to open).
  int release();

 private:
  int fd_ = -1;
  int create_errno_ = 0;
};

}  // namespace hotpatch::runtime

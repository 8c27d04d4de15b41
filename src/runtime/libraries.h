// LibraryTable: libraries loaded by `lib load NAME PATH` (dlopen RTLD_NOW), by name.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hotpatch::runtime {

struct Reply;

struct LoadedLibrary {
  std::string name;
  std::string path;  // resolved, absolute
  void* handle = nullptr;
};

class LibraryTable {
 public:
  static LibraryTable& instance();

  void list(Reply& reply);
  void load(const std::string& name, const std::string& path, Reply& reply);
  void unload(const std::string& name, Reply& reply);
  std::optional<LoadedLibrary> find(const std::string& name);

 private:
  std::mutex lock_;
  std::vector<LoadedLibrary> libraries_;
};

// Whether `address` lies in the object dlopen returned `handle` for.
bool address_in_library(uintptr_t address, void* handle);

}  // namespace hotpatch::runtime

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

// A file is about to run inside this process (a library to load, the helper to
// run): refuse one that someone else could have written (the seed project loaded
// anything anyone named). False with `error` set.
bool trusted_file(const std::string& path, std::string& error);

// Whether `address` lies in the object dlopen returned `handle` for.
bool address_in_library(uintptr_t address, void* handle);

}  // namespace hotpatch::runtime

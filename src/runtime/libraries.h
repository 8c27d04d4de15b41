// LibraryTable: libraries loaded by `lib load NAME PATH` (dlopen RTLD_NOW), by name.
// The file is read once into a sealed memfd, judged by the trust policy, and that
// memfd is what dlopen maps (docs/security.md): a file changed after the check is
// not what runs.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "trust/policy.h"

namespace hotpatch::runtime {

struct Reply;

struct LoadedLibrary {
  std::string name;
  std::string path;  // resolved, absolute
  void* handle = nullptr;
  std::string sha256;               // of the bytes loaded
  std::string signer;               // key id of a valid signature; empty if unsigned
  trust::PublicKey key{};           // the signer's key, when signed
  int fd = -1;                      // the sealed memfd mapped, open until unload
};

class LibraryTable {
 public:
  static LibraryTable& instance();

  void list(Reply& reply);
  // `loaded`: the library's record, filled in as far as it got (for the audit).
  void load(const std::string& name, const std::string& path, const trust::Policy& policy, Reply& reply,
            LoadedLibrary& loaded);
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

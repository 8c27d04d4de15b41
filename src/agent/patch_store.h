// PatchStore: the patches installed for the agent, one file per patch in a
// directory (default /var/lib/hotpatch/patches): ID.so, owned by root, mode 0644.
// `hotpatch install-patch / remove-patch / patches` manage it; the agent reads it.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <string>
#include <vector>

#include "elf/patch_file.h"

namespace hotpatch::ops {

inline constexpr const char* kDefaultPatchDir = "/var/lib/hotpatch/patches";

class PatchStore {
 public:
  explicit PatchStore(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }

  // Copies FILE in as ID.so (the id the patch declares), replacing an installed patch
  // of that id. The file must be a patch that names a build-id (the agent matches
  // processes by it): Error(BadPatchFile) otherwise. Creates the directory (0755).
  // Returns the installed patch, and sets `replaced` when one of that id was there.
  PatchFile install(const std::string& file, bool& replaced);
  // Removes ID.so; Error(Conflict) if no such patch is installed.
  void remove(const std::string& id);
  // The installed patches, by id. A file that is not a valid patch is skipped with
  // a warning in `problems`.
  std::vector<PatchFile> patches(std::vector<std::string>* problems = nullptr) const;

  // Something to compare to tell whether the directory changed (its mtime and the
  // number of entries); empty when it does not exist.
  std::string version() const;

  // Refuses (Error(BadPatchFile)) a directory others could write to: whatever lands
  // in it runs inside every matching process.
  void check_trusted() const;

 private:
  std::string path_of(const std::string& id) const { return dir_ + "/" + id + ".so"; }
  std::string dir_;
};

}  // namespace hotpatch::ops

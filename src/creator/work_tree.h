// WorkTree: the private copy of the user's source tree that `hotpatch create` builds
// and patches. The user's own tree is only read. Builds run the project's own build
// command, with compiler wrappers first in PATH that add -ffunction-sections
// -fdata-sections (so every function gets its own section and every reference
// between functions a relocation); both builds use the same path, so __FILE__ and
// debug paths cannot make unchanged code look changed. CMake build directories in
// the tree (configured with an absolute compiler path, which PATH cannot redirect)
// get a compiler launcher that adds the same flags.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hotpatch::creator {

class WorkTree {
 public:
  // `work`: a directory to keep (and reuse) the unpatched build in; nullopt: a
  // private temporary directory, removed afterwards.
  WorkTree(std::string source, std::optional<std::string> work);
  ~WorkTree();
  WorkTree(const WorkTree&) = delete;
  WorkTree& operator=(const WorkTree&) = delete;

  const std::string& tree() const { return tree_; }
  const std::string& dir() const { return dir_; }

  // Copies the source and builds it with the wrappers, unless a kept work
  // directory already holds that build. Returns true if it built from scratch.
  bool prepare(const std::string& build_command);
  void build(const std::string& build_command, const std::string& what);
  // patch -p1 (or -R); throws Error(Usage) with patch's message if it does not apply.
  void apply_diff(const std::string& diff_path, bool reverse);
  // Relative path -> contents of every object file under the tree.
  std::map<std::string, std::vector<uint8_t>> objects() const;

 private:
  void write_wrappers();
  // CMake build directories copied with the tree name the original tree and the
  // compiler by absolute path: point them at the copy, compile through our
  // launcher, and let CMake regenerate them.
  void adapt_cmake_build_dirs();
  std::string source_;
  std::string dir_;
  std::string tree_;
  std::string wrappers_;
  bool temporary_ = false;
};

// Runs `command` with /bin/sh in `cwd`, output to `log`; returns the exit status.
int run_shell(const std::string& command, const std::string& cwd, const std::string& log,
              const std::string& path_prefix = "");
std::string tail_of_file(const std::string& path, size_t lines);

}  // namespace hotpatch::creator

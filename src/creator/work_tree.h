// WorkTree: the private copy of the user's source tree that `hotpatch create`
// builds and patches. The user's own tree is only read.
//
// Layout of the work directory (a kept --work, or a temporary one):
//   tree/     where every build runs (always this path: __FILE__, debug paths and
//             dependency files stay the same from one build to the next)
//   base/     the tree as the unpatched build left it (the cache); `tree` is put
//             back to exactly this before and after each create (`restore`)
//   records/  what the compile wrapper recorded, per build (build_record.h)
//   state.json  what the cache was made for (build-id of the program, source state,
//             build command); written last, so a cache whose making was cut short
//             (error, Ctrl-C) is never taken for a good one
//
// Builds run the project's own build command with libhotpatch_capture.so preloaded:
// every compiler it runs goes through hotpatch-cc (capture/), whatever its name.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hotpatch::creator {

// What a cache is valid for: any difference means a build from scratch.
struct CacheKey {
  std::string source;         // the user's tree (canonical path)
  std::string build_command;
  std::string binary;         // relative to the tree
  std::string build_id;       // of the binary in the user's tree
  std::string source_state;   // source_state() of the user's tree
  bool operator==(const CacheKey&) const = default;
};

class WorkTree {
 public:
  // `work`: a directory to keep (and reuse) the unpatched build in; nullopt: a
  // private temporary directory, removed afterwards.
  WorkTree(std::string source, std::optional<std::string> work);
  ~WorkTree();
  WorkTree(const WorkTree&) = delete;
  WorkTree& operator=(const WorkTree&) = delete;

  const std::string& source() const { return source_; }
  const std::string& tree() const { return tree_; }
  const std::string& base() const { return base_; }
  const std::string& dir() const { return dir_; }
  bool kept() const { return !temporary_; }
  // DIR/records/NAME, created empty (with deps/ and maps/) by fresh_records.
  std::string records(const std::string& name) const { return dir_ + "/records/" + name; }
  void fresh_records(const std::string& name) const;

  // The saved cache state, if the last cache-making create finished and it was
  // made for `key`.
  std::optional<nlohmann::json> valid_cache(const CacheKey& key) const;
  // A cache of any kind is there (valid or not).
  bool has_cache() const;
  // Forgets the cache (state first), then copies the source into `tree`: objects
  // the copy holds are deleted (they were built without our flags and no record says
  // how), and so is the program itself, so the build compiles and links it all.
  void copy_source(const std::string& binary);
  // What copy_source deleted (relative to the tree) that is not there again and that
  // the build log's last lines name: the build failed for want of it (a Makefile that
  // makes a vendored library only once, from a stamp file, has no rule to remake it).
  std::vector<std::string> removed_not_rebuilt() const;
  // Makes every source file newer than anything built from it.
  void touch_sources();
  // The same for `paths` (absolute, inside the tree; others are ignored).
  void touch(const std::vector<std::string>& paths);
  // `base` := `tree`.
  void snapshot();
  // `tree` := `base`, copying back only what differs (size, modification time,
  // type) and removing what the base does not have. A no-op when nothing changed.
  void restore();
  // Writes state.json for `key` with `extra` (noise found, objects of the binary):
  // from now on the cache is valid.
  void commit_cache(const CacheKey& key, const nlohmann::json& extra);
  // SOURCE_DATE_EPOCH for every build (the same for the unpatched, noise and
  // patched builds: __DATE__ and __TIME__ then read the same in all of them).
  void set_source_date_epoch(std::string epoch) { epoch_ = std::move(epoch); }

  // Runs the project's build in `tree`, recording into records(`records_name`).
  void build(const std::string& build_command, const std::string& what, const std::string& records_name);
  // Runs a recorded compile again through the wrapper (recording it in
  // records(`records_name`)); throws Error(Usage) with the compiler's output.
  void recompile(const std::string& cwd, const std::string& exe, char mode, const std::vector<std::string>& argv,
                 const std::string& records_name);
  // patch -p1; throws Error(Usage) with patch's message if it does not apply.
  void apply_diff(const std::string& diff_path);

 private:
  void adapt_build_dirs();
  void adapt_meson_build_dir(const std::string& dir);
  std::map<std::string, std::string> build_environment(const std::string& records_name) const;
  std::string source_;
  std::string dir_;
  std::string tree_;
  std::string base_;
  std::string capture_lib_;
  std::string wrapper_;
  std::string epoch_;
  std::vector<std::string> removed_;  // by copy_source, relative to the tree
  int lock_fd_ = -1;  // flock on DIR/lock: one create at a time per work directory
  bool temporary_ = false;
};

// A hash of the tree's sources and build files (content and names): what a
// kept cache must have been built from.
std::string source_state(const std::string& dir);

// Runs `command` with /bin/sh in `cwd`, output appended to `log`, with `env` added
// to the environment; returns the exit status. The command runs in a process group
// of its own; while an InterruptGuard exists, SIGINT/SIGTERM/SIGHUP are passed on to
// that group, and run_shell throws Error(Internal, "interrupted") once the command
// is over (the caller's destructors then put the work directory back).
int run_shell(const std::string& command, const std::string& cwd, const std::string& log,
              const std::map<std::string, std::string>& env = {});

// Catches SIGINT, SIGTERM and SIGHUP while it lives (see run_shell); the previous
// handlers come back in its destructor. `signal()`: the signal that came, or 0.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  static int signal();
};
std::string tail_of_file(const std::string& path, size_t lines);
std::string shell_quote(const std::string& s);

}  // namespace hotpatch::creator

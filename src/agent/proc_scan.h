// Finding processes from /proc without tracing them: every process, the program
// each runs (by device and inode, never by name), the files each maps, and their
// build-ids. Shared by the CLI's --exe / -p all selection, `status` and the agent.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hotpatch::ops {

// A file as the kernel knows it: two paths name the same program iff these match
// (a name may be a symlink, a bind mount, a hard link, a replaced file).
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
  auto operator<=>(const FileId&) const = default;
};

// stat() of PATH; nullopt if it does not exist or cannot be read.
std::optional<FileId> file_id(const std::string& path);
// The program process PID runs (stat of /proc/PID/exe, which follows to the file
// even when it was deleted or replaced since); nullopt if gone or not ours to see.
std::optional<FileId> exe_id(pid_t pid);

// A numeric field of /proc/PID/stat, numbered as in proc(5) (3 is the state); 0 if
// the process is gone.
uint64_t stat_field(pid_t pid, size_t number);
inline constexpr size_t kStatStartTime = 22;
inline constexpr size_t kStatStartStack = 28;

// When process PID started (starttime of /proc/PID/stat, clock ticks since boot):
// a pid that was reused by another process has another start time. 0 if gone.
uint64_t process_start_time(pid_t pid);

// Every process in /proc, in pid order, without this one and without kernel threads.
std::vector<pid_t> all_processes();

// One file a process maps, as /proc/PID/maps names it.
struct MappedFile {
  std::string path;   // without the " (deleted)" the kernel appends
  FileId id;
  std::string range;  // "START-END" of one of its mappings (its /proc/PID/map_files name)
  bool deleted = false;
};
// The distinct files process PID maps (deleted ones included); empty if it is gone
// or we may not read its maps.
std::vector<MappedFile> mapped_files(pid_t pid);

// Whether the process has the hotpatch runtime loaded (libhotpatch.so[.N...]
// mapped): only those can have patches applied.
bool maps_runtime(pid_t pid);

// Build-ids (and DT_NEEDED lists) of files, read once per file (device + inode +
// modification time).
class BuildIdCache {
 public:
  // The libraries the program process PID runs names in DT_NEEDED.
  std::vector<std::string> needed_by_program(pid_t pid);
  // The build-id of the program process PID runs (through /proc/PID/exe).
  std::optional<std::string> of_program(pid_t pid);
  // The build-id of a file PID maps, opened through the process's own root (a
  // container's file of the same name is another file); checked to be that file.
  std::optional<std::string> of_mapped(pid_t pid, const MappedFile& file);

 private:
  struct Facts {
    std::optional<std::string> build_id;
    std::vector<std::string> needed;
  };
  const Facts* read(const std::string& open_path, const FileId& expected);
  struct Key {
    FileId id;
    long mtime_ns = 0;
    auto operator<=>(const Key&) const = default;
  };
  std::map<Key, Facts> cache_;
};

// "fd:01" (as /proc/PID/maps writes a device) -> dev_t; nullopt if malformed.
std::optional<dev_t> parse_maps_device(const std::string& text);

}  // namespace hotpatch::ops

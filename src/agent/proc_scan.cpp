#include "agent/proc_scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "common/error.h"
#include "common/paths.h"
#include "elf/elf_image.h"
#include "loader/address_space.h"

namespace hotpatch::ops {

namespace {

std::string proc(pid_t pid, const char* what) { return fmt::format("/proc/{}/{}", pid, what); }

// Kernel threads have no program: /proc/PID/exe does not resolve.
bool is_user_process(pid_t pid) {
  char buf[8];
  return ::readlink(proc(pid, "exe").c_str(), buf, sizeof buf) > 0;
}

}  // namespace

uint64_t stat_field(pid_t pid, size_t number) {
  char text[1024];
  int fd = ::open(proc(pid, "stat").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return 0;
  text[n] = 0;
  // The command name may hold spaces and parentheses: fields follow the last ')'.
  const char* at = std::strrchr(text, ')');
  if (!at) return 0;
  ++at;
  for (size_t field = 3; field < number; ++field) {
    while (*at == ' ') ++at;
    while (*at && *at != ' ') ++at;
  }
  return std::strtoull(at, nullptr, 10);
}

std::optional<FileId> file_id(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

std::optional<FileId> exe_id(pid_t pid) { return file_id(proc(pid, "exe")); }

uint64_t process_start_time(pid_t pid) { return stat_field(pid, kStatStartTime); }

std::vector<pid_t> all_processes() {
  std::vector<pid_t> pids;
  DIR* d = ::opendir("/proc");
  if (!d) throw Error(ErrorKind::Internal, errno_message("cannot list /proc", errno));
  const pid_t self = ::getpid();
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != 0 || pid <= 0 || pid == self) continue;
    if (is_user_process(static_cast<pid_t>(pid))) pids.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  std::sort(pids.begin(), pids.end());
  return pids;
}

std::optional<dev_t> parse_maps_device(const std::string& text) {
  auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) return std::nullopt;
  char* end = nullptr;
  unsigned long major = std::strtoul(text.c_str(), &end, 16);
  if (end != text.c_str() + colon) return std::nullopt;
  unsigned long minor = std::strtoul(text.c_str() + colon + 1, &end, 16);
  if (*end != 0) return std::nullopt;
  return makedev(major, minor);
}

std::vector<MappedFile> mapped_files(pid_t pid) {
  std::vector<MappedFile> files;
  AddressSpace space;
  try {
    space = AddressSpace::read(pid, proc(pid, "maps"));
  } catch (const Error&) {
    return files;  // gone, or not ours to read
  }
  std::set<FileId> seen;
  for (const auto& m : space.mappings()) {
    if (!m.is_file()) continue;
    auto dev = parse_maps_device(m.device);
    if (!dev) continue;
    FileId id{*dev, static_cast<ino_t>(m.inode)};
    if (!seen.insert(id).second) continue;
    MappedFile f;
    f.path = m.path;
    constexpr std::string_view kDeleted = " (deleted)";
    if (f.path.size() > kDeleted.size() && f.path.ends_with(kDeleted)) {
      f.path.resize(f.path.size() - kDeleted.size());
      f.deleted = true;
    }
    f.id = id;
    f.range = fmt::format("{:x}-{:x}", m.range.start.value(), m.range.end.value());
    files.push_back(std::move(f));
  }
  return files;
}

bool maps_runtime(pid_t pid) {
  // libhotpatch.so or libhotpatch.so.N...; not libhotpatch_preload.so (which loads
  // it), nor libhotpatch_capture.so (the creator's build capture, no runtime).
  for (const auto& f : mapped_files(pid)) {
    std::string name = base_name(f.path);
    if (name == "libhotpatch.so" || name.starts_with("libhotpatch.so.")) return true;
  }
  return false;
}

const BuildIdCache::Facts* BuildIdCache::read(const std::string& open_path, const FileId& expected) {
  int fd = ::open(open_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st;
  if (::fstat(fd, &st) != 0 || (expected != FileId{} && FileId{st.st_dev, st.st_ino} != expected)) {
    ::close(fd);
    return nullptr;
  }
  Key key{{st.st_dev, st.st_ino}, st.st_mtim.tv_sec * 1000000000L + st.st_mtim.tv_nsec};
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    Facts facts;
    try {
      ElfImage image = ElfImage::open(fmt::format("/proc/self/fd/{}", fd));
      facts.build_id = image.build_id();
      facts.needed = image.needed();
    } catch (const Error&) {
      // not ELF, or not one we read: it has no build-id we could match
    }
    it = cache_.emplace(key, std::move(facts)).first;
  }
  ::close(fd);
  return &it->second;
}

std::optional<std::string> BuildIdCache::of_program(pid_t pid) {
  const Facts* f = read(proc(pid, "exe"), {});
  return f ? f->build_id : std::nullopt;
}

std::vector<std::string> BuildIdCache::needed_by_program(pid_t pid) {
  const Facts* f = read(proc(pid, "exe"), {});
  return f ? f->needed : std::vector<std::string>{};
}

std::optional<std::string> BuildIdCache::of_mapped(pid_t pid, const MappedFile& file) {
  // map_files opens exactly the mapped file (deleted or not, in any mount namespace);
  // it needs privileges. Otherwise the path inside the process's root, if it is
  // still the same file.
  if (const Facts* f = read(fmt::format("/proc/{}/map_files/{}", pid, file.range), {})) return f->build_id;
  if (file.deleted) return std::nullopt;
  const Facts* f = read(fmt::format("/proc/{}/root{}", pid, file.path), file.id);
  return f ? f->build_id : std::nullopt;
}


}  // namespace hotpatch::ops

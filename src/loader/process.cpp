#include "loader/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <climits>
#include <cstring>
#include <fstream>

#include "common/error.h"

namespace hotpatch {

namespace {

// Fields of a /proc/.../stat line after the command name (which may hold spaces and
// parentheses: the fields follow the last ')'). Field 0 is the state.
std::vector<std::string> stat_fields(const std::string& path) {
  std::ifstream in(path);
  std::string stat;
  std::vector<std::string> fields;
  if (!in || !std::getline(in, stat)) return fields;
  auto close = stat.rfind(')');
  if (close == std::string::npos) return fields;
  std::string rest = stat.substr(close + 1);
  size_t pos = 0;
  while (pos < rest.size()) {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    size_t end = rest.find(' ', pos);
    if (end == std::string::npos) end = rest.size();
    if (end > pos) fields.push_back(rest.substr(pos, end - pos));
    pos = end;
  }
  return fields;
}

constexpr unsigned long kPfKthread = 0x00200000;  // PF_KTHREAD in the stat flags field

// A small /proc file in one read() into `text`, NUL-terminated; false if it is gone
// or empty. For files read inside the stop: no stream, no allocation.
template <size_t N>
bool read_proc_text(const char* path, char (&text)[N]) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = ::read(fd, text, N - 1);
  ::close(fd);
  if (n <= 0) return false;
  text[n] = 0;
  return true;
}

}  // namespace

char process_state(pid_t pid) {
  auto f = stat_fields("/proc/" + std::to_string(pid) + "/stat");
  return f.empty() || f[0].empty() ? 0 : f[0][0];
}

std::optional<SignalMasks> signal_masks(pid_t pid, pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/task/%d/status", static_cast<int>(pid), static_cast<int>(tid));
  char text[4096];
  if (!read_proc_text(path, text)) return std::nullopt;
  auto field = [&](const char* name) -> uint64_t {
    const char* at = std::strstr(text, name);
    return at ? std::strtoull(at + std::strlen(name), nullptr, 16) : 0;
  };
  SignalMasks m;
  m.pending = field("\nSigPnd:");
  m.shared_pending = field("\nShdPnd:");
  m.blocked = field("\nSigBlk:");
  m.ignored = field("\nSigIgn:");
  m.caught = field("\nSigCgt:");
  return m;
}

char thread_state(pid_t pid, pid_t tid) {
  // Read in one go into a stack buffer: it runs once per thread before each stop.
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/task/%d/stat", static_cast<int>(pid), static_cast<int>(tid));
  char text[1024];
  if (!read_proc_text(path, text)) return 0;
  // The command name may hold spaces and parentheses: the state follows the last ')'.
  const char* close = std::strrchr(text, ')');
  return close && close[1] == ' ' ? close[2] : 0;
}

std::string describe_thread_state(pid_t pid, pid_t tid) {
  const char state = thread_state(pid, tid);
  if (state == 0) return "gone";
  const char* meaning = "";
  switch (state) {
    case 'R': meaning = ": running"; break;
    case 'S': meaning = ": sleeping"; break;
    case 'D': meaning = ": uninterruptible sleep"; break;
    case 'T': meaning = ": stopped"; break;
    case 't': meaning = ": stopped by a tracer"; break;
    case 'Z': meaning = ": zombie"; break;
    default: break;
  }
  std::string text = fmt::format("state {}{}", state, meaning);
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/task/%d/wchan", static_cast<int>(pid), static_cast<int>(tid));
  char wchan[128];
  if (read_proc_text(path, wchan) && wchan[0] != '0' && wchan[0] != '\n') text += fmt::format(", in {}", wchan);
  return text;
}

std::optional<pid_t> id_in_own_namespace(pid_t pid, pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/task/%d/status", static_cast<int>(pid), static_cast<int>(tid));
  char text[4096];
  if (!read_proc_text(path, text)) return std::nullopt;
  const char* at = std::strstr(text, "\nNSpid:");
  if (!at) return tid;  // a kernel before 4.1 shows no NSpid: no namespaces to tell apart
  at += std::strlen("\nNSpid:");
  if (char* eol = std::strchr(const_cast<char*>(at), '\n')) *eol = 0;  // this line's ids only
  long last = 0;
  for (char* end = nullptr;; at = end) {
    long id = std::strtol(at, &end, 10);
    if (end == at) break;
    last = id;
  }
  if (last <= 0) return std::nullopt;
  return static_cast<pid_t>(last);
}

std::optional<pid_t> thread_with_own_id(pid_t pid, pid_t own_id) {
  char ours[64] = {}, theirs[64] = {};
  const std::string ns = "/proc/" + std::to_string(pid) + "/ns/pid";
  if (::readlink("/proc/self/ns/pid", ours, sizeof ours - 1) > 0 && ::readlink(ns.c_str(), theirs, sizeof theirs - 1) > 0 &&
      std::strcmp(ours, theirs) == 0)
    return own_id;  // our namespace: the same ids
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
  if (!dir) return std::nullopt;
  std::optional<pid_t> found;
  while (dirent* e = ::readdir(dir)) {
    const pid_t tid = static_cast<pid_t>(std::atoi(e->d_name));
    if (tid > 0 && id_in_own_namespace(pid, tid) == own_id) {
      found = tid;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

void check_proc_is_ours() {
  // Not cached: a forked child has another pid (one readlink per process we open).
  char self[32] = {};
  if (::readlink("/proc/self", self, sizeof self - 1) <= 0) return;  // no /proc: every read of it will say so
  const pid_t proc_says = static_cast<pid_t>(std::atoi(self));
  if (proc_says != ::getpid())
    throw Error(ErrorKind::Target,
                fmt::format("the /proc mounted here belongs to another PID namespace (it calls us process {}, we are {}): "
                            "the process ids it shows are not the ones we could attach to; run hotpatch where /proc is "
                            "this namespace's (mount -t proc proc /proc, unshare --mount-proc)",
                            proc_says, ::getpid()));
}

std::optional<pid_t> Process::thread_in_uninterruptible_sleep() const {
  for (pid_t tid : thread_ids())
    if (thread_state(pid_, tid) == 'D') return tid;
  return std::nullopt;
}

Process::Process(pid_t pid) : pid_(pid), memory_tid_(pid) {
  if (pid <= 0) throw Error(ErrorKind::Usage, fmt::format("invalid pid {}", pid));
  check_proc_is_ours();
  if (::kill(pid, 0) != 0 && errno == ESRCH) throw Error(ErrorKind::Target, fmt::format("process {}: no such process", pid));
  auto fields = stat_fields("/proc/" + std::to_string(pid) + "/stat");
  char state = fields.empty() || fields[0].empty() ? 0 : fields[0][0];
  if (state == 0) throw Error(ErrorKind::Target, fmt::format("process {}: no such process", pid));
  if (fields.size() > 6 && (std::stoul(fields[6]) & kPfKthread))
    throw Error(ErrorKind::Target, fmt::format("process {}: is a kernel thread; only user processes can be patched", pid));
  if (pid == ::getpid()) throw Error(ErrorKind::Target, fmt::format("process {}: is hotpatch itself", pid));
  proc_dir_ = "/proc/" + std::to_string(pid);
  if (state == 'Z' || state == 'X') {
    // The leader is gone; the process lives on if another thread does.
    for (pid_t tid : thread_ids()) {
      char s = thread_state(pid, tid);
      if (tid != pid && s != 0 && s != 'Z' && s != 'X') {
        proc_dir_ = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid);
        memory_tid_ = tid;
        break;
      }
    }
    if (proc_dir_ == "/proc/" + std::to_string(pid))
      throw Error(ErrorKind::Target, fmt::format("process {}: is a zombie (exited, not yet reaped)", pid));
  }
  std::string mem = proc_dir_ + "/mem";
  mem_fd_ = ::open(mem.c_str(), O_RDWR | O_CLOEXEC);
  if (mem_fd_ < 0) {
    int err = errno;
    if (err == ENOENT || err == ESRCH) throw Error(ErrorKind::Target, fmt::format("process {}: no such process", pid));
    if (err == EACCES || err == EPERM)
      throw Error(ErrorKind::Target, fmt::format("process {}: not permitted to trace it (run as its user or root; "
                                                 "check /proc/sys/kernel/yama/ptrace_scope)", pid));
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {}: cannot open {}", pid, mem), err));
  }
  // A page every program has, to tell later whether our memory handle still sees this
  // program: after an execve the handle's old memory is gone and reads return nothing.
  try {
    const AddressSpace space = address_space();
    for (const auto& m : space.mappings())
      if (m.path == "[vdso]") vdso_ = m.range.start;
  } catch (const Error&) {
  }
}

Process::~Process() {
  if (mem_fd_ >= 0) ::close(mem_fd_);
}

std::vector<pid_t> Process::thread_ids() const {
  std::vector<pid_t> tids;
  std::string dir = "/proc/" + std::to_string(pid_) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return tids;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    tids.push_back(static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10)));
  }
  ::closedir(d);
  std::sort(tids.begin(), tids.end());
  auto main = std::find(tids.begin(), tids.end(), pid_);
  if (main != tids.end()) std::rotate(tids.begin(), main, main + 1);
  return tids;
}

std::optional<size_t> Process::thread_count() const {
  // Called inside the stop: one read() into a stack buffer, no stream.
  char path[48];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid_));
  char text[1024];
  if (!read_proc_text(path, text)) return std::nullopt;
  // The command name may hold spaces and parentheses: fields follow the last ')'.
  // After it: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
  // cmajflt utime stime cutime cstime priority nice num_threads (field 20).
  const char* at = std::strrchr(text, ')');
  if (!at) return std::nullopt;
  ++at;
  for (int field = 3; field < 20; ++field) {
    while (*at == ' ') ++at;
    while (*at && *at != ' ') ++at;
    if (!*at) return std::nullopt;
  }
  char* end = nullptr;
  unsigned long count = std::strtoul(at, &end, 10);
  if (end == at) return std::nullopt;
  return static_cast<size_t>(count);
}

bool Process::alive() const {
  for (pid_t tid : thread_ids()) {
    char s = thread_state(pid_, tid);
    if (s != 0 && s != 'Z' && s != 'X') return !replaced_by_exec();
  }
  return false;
}

bool Process::replaced_by_exec() const {
  if (vdso_.is_null()) return false;  // no [vdso] seen (unusual kernel): cannot tell
  char byte;
  return ::pread(mem_fd_, &byte, 1, static_cast<off_t>(vdso_.value())) != 1;
}

AddressSpace Process::address_space() const { return AddressSpace::read(pid_, proc_dir_ + "/maps"); }

std::string Process::executable_path() const {
  char buf[PATH_MAX];
  std::string link = proc_dir_ + "/exe";
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  if (n < 0) throw Error(ErrorKind::Target, errno_message(fmt::format("process {}: cannot read {}", pid_, link), errno));
  return std::string(buf, n);
}

std::string Process::path_in_target_root(const std::string& path) const {
  return proc_dir_ + "/root" + path;
}

std::string Process::mapped_file_path(const RemoteRange& range) const {
  return fmt::format("{}/map_files/{:x}-{:x}", proc_dir_, range.start.value(), range.end.value());
}

std::string Process::open_file_path(const std::string& device, uint64_t inode) const {
  unsigned major = 0, minor = 0;
  if (std::sscanf(device.c_str(), "%x:%x", &major, &minor) != 2) return {};
  const std::string dir = proc_dir_ + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return {};
  std::string found;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const std::string path = dir + "/" + e->d_name;
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && ::major(st.st_dev) == major && ::minor(st.st_dev) == minor &&
        st.st_ino == inode) {
      found = path;
      break;
    }
  }
  ::closedir(d);
  return found;
}

size_t Process::read_partial(RemoteAddr addr, void* out, size_t len) const {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(mem_fd_, static_cast<char*>(out) + done, len - done, static_cast<off_t>(addr.value() + done));
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

void Process::read_many(std::span<ReadRequest> requests) const {
  constexpr size_t kMaxRangesPerCall = 1024;  // IOV_MAX
  iovec local[kMaxRangesPerCall], remote[kMaxRangesPerCall];
  size_t next = 0;
  while (next < requests.size()) {
    size_t count = std::min(kMaxRangesPerCall, requests.size() - next);
    for (size_t i = 0; i < count; ++i) {
      ReadRequest& r = requests[next + i];
      r.got = 0;
      local[i] = {r.out, r.len};
      remote[i] = {reinterpret_cast<void*>(r.addr.value()), r.len};
    }
    // The kernel copies the ranges in order and stops at the first byte it cannot
    // read: everything before that point is complete.
    ssize_t copied = ::process_vm_readv(memory_tid_, local, count, remote, count, 0);
    size_t left = copied > 0 ? static_cast<size_t>(copied) : 0;
    size_t i = 0;
    for (; i < count && left >= requests[next + i].len; ++i) {
      requests[next + i].got = requests[next + i].len;
      left -= requests[next + i].len;
    }
    if (i == count) {
      next += count;
      continue;
    }
    // The range it stopped in: finish it the slow way, then batch again after it.
    ReadRequest& stopped = requests[next + i];
    stopped.got = left + read_partial(stopped.addr + static_cast<int64_t>(left), static_cast<char*>(stopped.out) + left,
                                      stopped.len - left);
    next += i + 1;
  }
}

void Process::read(RemoteAddr addr, void* out, size_t len) const {
  if (read_partial(addr, out, len) != len)
    throw Error(ErrorKind::Target,
                errno_message(fmt::format("process {}: cannot read {} bytes at {}", pid_, len, addr), errno ? errno : EIO));
}

std::vector<uint8_t> Process::read_bytes(RemoteAddr addr, size_t len) const {
  std::vector<uint8_t> out(len);
  read(addr, out.data(), len);
  return out;
}

uint64_t Process::read_u64(RemoteAddr addr) const {
  uint64_t v;
  read(addr, &v, sizeof v);
  return v;
}

std::string Process::read_cstring(RemoteAddr addr, size_t max_len) const {
  std::string out;
  char chunk[256];
  while (out.size() < max_len) {
    size_t n = read_partial(addr + static_cast<int64_t>(out.size()), chunk, sizeof chunk);
    if (n == 0) break;
    const char* nul = static_cast<const char*>(std::memchr(chunk, 0, n));
    if (nul) {
      out.append(chunk, nul - chunk);
      return out;
    }
    out.append(chunk, n);
  }
  return out.substr(0, max_len);
}

void Process::write_many(std::span<const WriteRequest> requests) const {
  constexpr size_t kMaxRanges = 64;
  size_t total = 0;
  if (requests.size() <= kMaxRanges) {
    iovec local[kMaxRanges], remote[kMaxRanges];
    for (size_t i = 0; i < requests.size(); ++i) {
      local[i] = {const_cast<void*>(requests[i].data), requests[i].len};
      remote[i] = {reinterpret_cast<void*>(requests[i].addr.value()), requests[i].len};
      total += requests[i].len;
    }
    ssize_t n = ::process_vm_writev(memory_tid_, local, requests.size(), remote, requests.size(), 0);
    if (n >= 0 && static_cast<size_t>(n) == total) return;
  }
  // Partly written or refused: writing everything again in order gives the same end
  // state (each request's bytes are fixed), and keeps the last one last.
  for (const auto& r : requests) write(r.addr, r.data, r.len);
}

void Process::write(RemoteAddr addr, const void* data, size_t len) const {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(mem_fd_, static_cast<const char*>(data) + done, len - done,
                         static_cast<off_t>(addr.value() + done));
    if (n <= 0)
      throw Error(ErrorKind::Target,
                  errno_message(fmt::format("process {}: cannot write {} bytes at {}", pid_, len, addr), n < 0 ? errno : EIO));
    done += static_cast<size_t>(n);
  }
}

}  // namespace hotpatch

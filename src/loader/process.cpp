#include "loader/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>

#include "common/error.h"

namespace hotpatch {

char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) return 0;
  // The command name may hold spaces and parentheses: the state follows the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return 0;
  return stat[close + 2];
}

Process::Process(pid_t pid) : pid_(pid) {
  if (pid <= 0) throw Error(ErrorKind::Usage, fmt::format("invalid pid {}", pid));
  if (::kill(pid, 0) != 0 && errno == ESRCH) throw Error(ErrorKind::Target, fmt::format("process {}: no such process", pid));
  char state = process_state(pid);
  if (state == 0) throw Error(ErrorKind::Target, fmt::format("process {}: no such process", pid));
  if (state == 'Z' || state == 'X') throw Error(ErrorKind::Target, fmt::format("process {}: is a zombie (exited, not yet reaped)", pid));
  if (pid == ::getpid()) throw Error(ErrorKind::Target, fmt::format("process {}: is hotpatch itself", pid));
  std::string mem = "/proc/" + std::to_string(pid) + "/mem";
  mem_fd_ = ::open(mem.c_str(), O_RDWR | O_CLOEXEC);
  if (mem_fd_ < 0) {
    int err = errno;
    if (err == ENOENT || err == ESRCH) throw Error(ErrorKind::Target, fmt::format("process {}: no such process", pid));
    if (err == EACCES || err == EPERM)
      throw Error(ErrorKind::Target, fmt::format("process {}: not permitted to trace it (run as its user or root; "
                                                 "check /proc/sys/kernel/yama/ptrace_scope)", pid));
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {}: cannot open {}", pid, mem), err));
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

bool Process::alive() const {
  char s = process_state(pid_);
  return s != 0 && s != 'Z' && s != 'X';
}

std::string Process::executable_path() const {
  char buf[PATH_MAX];
  std::string link = "/proc/" + std::to_string(pid_) + "/exe";
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  if (n < 0) throw Error(ErrorKind::Target, errno_message(fmt::format("process {}: cannot read {}", pid_, link), errno));
  return std::string(buf, n);
}

std::string Process::path_in_target_root(const std::string& path) const {
  return "/proc/" + std::to_string(pid_) + "/root" + path;
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

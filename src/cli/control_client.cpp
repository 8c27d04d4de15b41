#include "cli/control_client.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/core.h>

#include "common/control_socket_path.h"
#include "common/error.h"
#include "loader/process.h"

namespace hotpatch::cli {

namespace {

constexpr int kReplyTimeoutSeconds = 30;

std::string environ_value(pid_t pid, const std::string& key) {
  std::ifstream in(fmt::format("/proc/{}/environ", pid), std::ios::binary);
  std::string entry;
  while (std::getline(in, entry, '\0'))
    if (entry.compare(0, key.size() + 1, key + "=") == 0) return entry.substr(key.size() + 1);
  return {};
}

// The effective uid of the process (the runtime names its directory after it).
std::optional<uid_t> process_euid(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Uid:", 0) == 0) {
      std::istringstream fields(line.substr(4));
      unsigned real = 0, effective = 0;
      if (fields >> real >> effective) return effective;
    }
  return std::nullopt;
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::string proc_link(const std::string& path) {
  char buf[128] = {};
  return ::readlink(path.c_str(), buf, sizeof buf - 1) > 0 ? buf : "";
}

// The runtime makes its socket under its own root and mounts (a container's): seen
// from here through /proc/PID/root when those are not ours, else by the plain path.
std::string root_seen_from_here(pid_t pid) {
  const std::string root = fmt::format("/proc/{}/root", pid);
  struct stat theirs{}, ours{};
  const std::string their_mounts = proc_link(fmt::format("/proc/{}/ns/mnt", pid));
  if (their_mounts.empty()) return "";  // not ours to look into: as before namespaces
  if (their_mounts == proc_link("/proc/self/ns/mnt") && ::stat(root.c_str(), &theirs) == 0 && ::stat("/", &ours) == 0 &&
      theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino)
    return "";
  return root;
}

}  // namespace

std::optional<std::string> find_control_socket(pid_t pid, std::vector<std::string>* looked_at) {
  check_proc_is_ours();
  auto uid = process_euid(pid);
  if (!uid) throw Error(ErrorKind::Target, fmt::format("process {}: no such process", pid));
  // The runtime names the socket after its getpid(), in its own PID namespace.
  const std::optional<pid_t> own_pid = id_in_own_namespace(pid, pid);
  if (!own_pid) throw Error(ErrorKind::Target, fmt::format("process {}: no such process", pid));
  const std::string root = root_seen_from_here(pid);
  std::string xdg = environ_value(pid, "XDG_RUNTIME_DIR");
  for (const auto& in_target : control::candidate_socket_paths(*own_pid, *uid, xdg.empty() ? nullptr : xdg.c_str())) {
    const std::string path = root + in_target;
    if (looked_at) looked_at->push_back(path);
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return path;
  }
  return std::nullopt;
}

ControlAnswer send_control_command(pid_t pid, const std::string& socket_path, const std::string& line) {
  Socket sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (sock.fd() < 0) throw Error(ErrorKind::Internal, errno_message("socket", errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    throw Error(ErrorKind::Internal, fmt::format("socket path too long: {}", socket_path));
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(sock.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    if (err == EACCES || err == EPERM)
      throw Error(ErrorKind::Target, errno_message(fmt::format("process {}: cannot connect to {}", pid, socket_path), err));
    throw Error(ErrorKind::NoControlServer,
                fmt::format("process {}: nothing listens on {} ({}); the process runs no hotpatch control server (start "
                            "one with `hotpatch -p {} inject` or LD_PRELOAD)",
                            pid, socket_path, std::strerror(err), pid));
  }
  // The listener must be the process asked for: a socket of the same name can be
  // another's (a container's process with the same pid in its own namespace, in a
  // /run shared with us). SO_PEERCRED names the process that listens, by our pid.
  ucred listener{};
  socklen_t len = sizeof listener;
  if (::getsockopt(sock.fd(), SOL_SOCKET, SO_PEERCRED, &listener, &len) == 0 && listener.pid != pid)
    throw Error(ErrorKind::NoControlServer,
                fmt::format("process {}: the socket {} is not its own but {} (a process with the same pid in another PID "
                            "namespace?); not sending to it",
                            pid, socket_path,
                            listener.pid > 0 ? fmt::format("process {}'s", listener.pid)
                                             : std::string("a process outside our PID namespace's")));
  timeval timeout{kReplyTimeoutSeconds, 0};
  ::setsockopt(sock.fd(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string out = line + "\n";
  for (size_t sent = 0; sent < out.size();) {
    ssize_t n = ::send(sock.fd(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) throw Error(ErrorKind::Target, errno_message(fmt::format("process {}: sending to {}", pid, socket_path), errno));
    sent += static_cast<size_t>(n);
  }
  ControlAnswer answer;
  std::string pending;
  char buf[4096];
  for (;;) {
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string reply_line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (reply_line == "OK") {
        answer.ok = true;
        return answer;
      }
      if (reply_line.rfind("ERR", 0) == 0) {
        answer.error = reply_line.size() > 4 ? reply_line.substr(4) : "unspecified error";
        return answer;
      }
      answer.body.push_back(reply_line);
    }
    ssize_t n = ::recv(sock.fd(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error(ErrorKind::Target, fmt::format("process {}: the control server closed the connection without a final "
                                                 "OK/ERR line{}",
                                                 pid, n < 0 ? std::string(" (") + std::strerror(errno) + ")" : ""));
    pending.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace hotpatch::cli

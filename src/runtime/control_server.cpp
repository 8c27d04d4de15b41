#include "runtime/control_server.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

#include "common/control_protocol.h"
#include "common/control_socket_path.h"
#include "runtime/dispatcher.h"

extern "C" {
// See HOTPATCH_CONTROL_THREAD_SYMBOL (common/registry_layout.h).
__attribute__((visibility("default"))) int hotpatch_control_thread;
}

namespace hotpatch::runtime {

namespace {

// Says why, then closes without losing the reply: closing a Unix socket whose
// client's request is still unread resets the connection, and the client may then
// never see the ERR line. So: reply, end our side, and drain briefly first.
void refuse(int fd, const std::string& reply);

constexpr size_t kThreadStackSize = 1 << 20;
constexpr int kSendTimeoutSeconds = 10;  // a client that stops reading is dropped

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

bool send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

void refuse(int fd, const std::string& reply) {
  send_all(fd, reply);
  ::shutdown(fd, SHUT_WR);
  // Bounded: at most ~100 ms and 64 KiB, so a refused client cannot hold the
  // accepting thread.
  char sink[4096];
  for (int i = 0; i < 16; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) break;
    ssize_t n = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT);
    if (n <= 0) break;
  }
  ::close(fd);
}

// Our threads must never take the program's signals (a program that waits for
// SIGTERM in sigwait, or counts SIGUSR1s, would miss them). Faults stay unblocked:
// blocking them would only turn a crash into a different crash.
bool start_thread(void* (*fn)(void*), void* arg) {
  sigset_t all, old;
  sigfillset(&all);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP}) sigdelset(&all, sig);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, kThreadStackSize);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t thread;
  int rc = pthread_create(&thread, &attr, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (rc != 0) errno = rc;
  return rc == 0;
}

// The thread the Loader runs patch callbacks on when no control server runs
// (hotpatch_start_call_thread): it only waits, holding none of the program's locks.
pid_t call_thread_process = 0;  // the process it was started in: a forked child has none

void* call_thread_main(void*) {
  pthread_setname_np(pthread_self(), "hotpatch-call");
  __atomic_store_n(&hotpatch_control_thread, static_cast<int>(::syscall(SYS_gettid)), __ATOMIC_RELEASE);
  for (;;) ::pause();  // every signal but faults is blocked: only the Loader wakes it
  return nullptr;
}

struct ClientStart {
  ControlServer* server;
  int fd;
  Peer peer;  // SO_PEERCRED at accept: who connected
};

}  // namespace

ControlServer& ControlServer::instance() {
  static ControlServer* server = new ControlServer;  // never destroyed: threads may use it until exit
  return *server;
}

bool ControlServer::create_directory(const std::string& dir, std::string& error) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    error = errno_text("cannot create " + dir);
    return false;
  }
  struct stat st{};
  if (::lstat(dir.c_str(), &st) != 0) {
    error = errno_text(dir);
    return false;
  }
  // Someone else's directory, or one others can enter, could hand our socket to
  // anyone: refuse rather than listen there.
  if (!S_ISDIR(st.st_mode)) {
    error = dir + " is not a directory; refusing to put the control socket there";
    return false;
  }
  if (st.st_uid != ::geteuid()) {
    error = dir + " is owned by uid " + std::to_string(st.st_uid) + ", not " + std::to_string(::geteuid()) +
            "; refusing to put the control socket there";
    return false;
  }
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%o", st.st_mode & 07777);
    error = dir + " has mode " + mode + ", not 700; refusing to put the control socket there";
    return false;
  }
  return true;
}

bool ControlServer::listen_on(const std::string& path, std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    error = "socket path too long: " + path;
    return false;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    // Left by an earlier process that had our pid (the directory is ours alone).
    if (!S_ISSOCK(st.st_mode)) {
      error = path + " exists and is not a socket";
      return false;
    }
    ::unlink(path.c_str());
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = errno_text("socket");
    return false;
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::chmod(path.c_str(), 0600) != 0 ||
      ::listen(fd, 128) != 0) {
    error = errno_text("cannot listen on " + path);
    ::close(fd);
    ::unlink(path.c_str());
    return false;
  }
  listen_fd_ = fd;
  return true;
}

bool ControlServer::start(std::string& error) {
  std::lock_guard<std::mutex> guard(start_lock_);
  if (running_.load()) return true;
  const uid_t uid = ::geteuid();
  const std::string dir = control::socket_directory(uid, std::getenv("XDG_RUNTIME_DIR"));
  const std::string path = dir + "/" + std::to_string(::getpid()) + ".sock";
  if (!create_directory(dir, error) || !listen_on(path, error)) return false;
  path_ = path;
  owner_pid_ = ::getpid();
  if (!start_thread(accept_main, this)) {
    error = errno_text("cannot start the control server thread");
    ::close(listen_fd_);
    ::unlink(path.c_str());
    return false;
  }
  running_.store(true);
  return true;
}

void ControlServer::remove_socket() {
  if (running_.load() && owner_pid_ == ::getpid()) ::unlink(path_.c_str());
}

void* ControlServer::accept_main(void* self) {
  auto* server = static_cast<ControlServer*>(self);
  pthread_setname_np(pthread_self(), "hotpatch-ctl");
  __atomic_store_n(&hotpatch_control_thread, static_cast<int>(::syscall(SYS_gettid)), __ATOMIC_RELEASE);
  for (;;) {
    int fd = ::accept4(server->listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EINTR && errno != ECONNABORTED) {
        timespec pause{0, 10 * 1000 * 1000};  // out of fds or memory: do not spin
        nanosleep(&pause, nullptr);
      }
      continue;
    }
    timeval send_timeout{kSendTimeoutSeconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    ucred peer{};
    socklen_t len = sizeof peer;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) {
      refuse(fd, "ERR cannot check who is connecting (SO_PEERCRED failed)\n");
      continue;
    }
    if (peer.uid != 0 && peer.uid != ::geteuid()) {
      refuse(fd, "ERR permission denied: uid " + std::to_string(peer.uid) + " may not control this process (runs as uid " +
                     std::to_string(::geteuid()) + ")\n");
      continue;
    }
    if (server->clients_.fetch_add(1) >= kMaxClients) {
      server->clients_.fetch_sub(1);
      refuse(fd, "ERR too many clients at once (" + std::to_string(kMaxClients) + "); try again\n");
      continue;
    }
    auto* start = new ClientStart{server, fd, Peer{peer.pid, peer.uid}};
    if (!start_thread(client_main, start)) {
      delete start;
      server->clients_.fetch_sub(1);
      send_all(fd, "ERR cannot start a thread for this client; try again\n");
      ::close(fd);
    }
  }
  return nullptr;
}

void* ControlServer::client_main(void* arg) {
  ClientStart start = *static_cast<ClientStart*>(arg);
  delete static_cast<ClientStart*>(arg);
  pthread_setname_np(pthread_self(), "hotpatch-client");
  start.server->serve_client(start.fd, start.peer);
  ::close(start.fd);
  start.server->clients_.fetch_sub(1);
  return nullptr;
}

void ControlServer::serve_client(int fd, const Peer& peer) {
  std::string pending;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // gone; a half line it left behind is dropped unrun
    pending.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (;;) {
      size_t nl = pending.find('\n', start);
      if (nl == std::string::npos) break;
      std::string_view line(pending.data() + start, nl - start);
      if (line.size() > control::kMaxLineLength) {
        send_all(fd, "ERR line longer than " + std::to_string(control::kMaxLineLength) + " bytes; closing the connection\n");
        return;
      }
      if (!send_all(fd, run_command_line(line, peer).wire())) return;
      start = nl + 1;
    }
    pending.erase(0, start);
    if (pending.size() > control::kMaxLineLength) {
      send_all(fd, "ERR line longer than " + std::to_string(control::kMaxLineLength) + " bytes; closing the connection\n");
      return;
    }
  }
}

}  // namespace hotpatch::runtime

// Called by the Loader (on a borrowed thread) before it runs a patch's callback:
// a callback may take the program's locks, which the borrowed thread itself may
// hold; on a thread of ours it waits for their owners like any other thread.
// 0 once the thread runs (or already ran in this process), else -errno.
extern "C" __attribute__((visibility("default"))) int hotpatch_start_call_thread(void) {
  using namespace hotpatch::runtime;
  const pid_t self = ::getpid();
  if (__atomic_load_n(&call_thread_process, __ATOMIC_ACQUIRE) == self) return 0;
  __atomic_store_n(&hotpatch_control_thread, 0, __ATOMIC_RELEASE);  // a forked child's is its parent's
  if (!start_thread(call_thread_main, nullptr)) return -errno;
  __atomic_store_n(&call_thread_process, self, __ATOMIC_RELEASE);
  return 0;
}


#include "runtime/loader_helper.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "common/paths.h"
#include "runtime/libraries.h"

extern char** environ;

namespace hotpatch::runtime {

namespace {

constexpr const char* kErrorPrefix = "hotpatch: error: ";

// The helper (the hotpatch CLI, run with the right to trace this process) gets a
// few variables of ours, not the program's environment: what the program was
// started with (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, GCONV_PATH, MALLOC_*...)
// could load code into it or change what it does. Names only; values as ours.
bool helper_may_inherit(const std::string& entry) {
  static const char* const kAllowed[] = {
      "PATH", "HOME", "LANG", "LC_ALL", "LC_MESSAGES", "TZ", "TMPDIR",
      // hotpatch's own knobs (docs/cli.md)
      "HOTPATCH_RUNTIME", "HOTPATCH_STOP_PRIORITY", "HOTPATCH_REMOTE_CALLS",
      // the marker the e2e tests find their processes by (tests/e2e/run-case.sh)
      "HOTPATCH_E2E_TAG",
  };
  const auto eq = entry.find('=');
  if (eq == std::string::npos) return false;
  const std::string name = entry.substr(0, eq);
  for (const char* allowed : kAllowed)
    if (name == allowed) return true;
  return false;
}

std::vector<std::string> helper_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    if (helper_may_inherit(*e)) env.push_back(*e);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

long long now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

class Pipe {
 public:
  bool open() { return ::pipe2(fds_, O_CLOEXEC) == 0; }
  ~Pipe() {
    close_read();
    close_write();
  }
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }
  void close_read() {
    if (fds_[0] >= 0) ::close(fds_[0]);
    fds_[0] = -1;
  }
  void close_write() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

}  // namespace

bool LoaderHelper::locate(std::string& path, std::string& error) {
  std::vector<std::string> candidates;
  if (const char* explicit_path = std::getenv("HOTPATCH_CLI"); explicit_path && *explicit_path) {
    candidates.push_back(explicit_path);
  } else {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&LoaderHelper::locate), &info) && info.dli_fname) {
      char real[PATH_MAX];
      std::string lib = ::realpath(info.dli_fname, real) ? real : info.dli_fname;
      for (std::string& c : cli_candidates(directory_of(lib))) candidates.push_back(std::move(c));
    }
    if (const char* search = std::getenv("PATH")) {
      std::string dirs = search;
      for (size_t start = 0; start <= dirs.size();) {
        size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        if (end > start && dirs[start] == '/') candidates.push_back(dirs.substr(start, end - start) + "/hotpatch");
        start = end + 1;
      }
    }
  }
  for (const auto& c : candidates) {
    // A directory of the same name (libdir/hotpatch holds the Creator's build
    // capture files) is not a candidate; only an executable file is.
    struct stat st{};
    if (::stat(c.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::access(c.c_str(), X_OK) != 0) continue;
    if (!trusted_file(c, error)) return false;
    path = c;
    return true;
  }
  error = "cannot find the hotpatch command (looked next to libhotpatch.so, in its installed bindir "
          "(libdir/" HOTPATCH_LIBDIR_TO_BINDIR ") and on PATH; set HOTPATCH_CLI)";
  return false;
}

bool LoaderHelper::run(const std::vector<std::string>& args, int timeout_ms, std::vector<std::string>& output,
                       std::string& error) {
  std::string helper;
  if (!locate(helper, error)) return false;
  Pipe input, out;
  if (!input.open() || !out.open()) {
    error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  std::vector<std::string> argv_strings = {helper, "-p", std::to_string(::getpid())};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  argv_strings.push_back("--go-on-stdin");
  std::vector<std::string> env_strings = helper_environment();
  auto argv = c_strings(argv_strings);
  auto envp = c_strings(env_strings);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, input.read_end(), 0);
  posix_spawn_file_actions_adddup2(&actions, out.write_end(), 1);
  posix_spawn_file_actions_adddup2(&actions, out.write_end(), 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // none of the program's descriptors
  // The program's signal dispositions and this thread's mask are not the helper's.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t child = 0;
  int spawn_error = posix_spawn(&child, helper.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  input.close_read();
  out.close_write();
  if (spawn_error != 0) {
    error = "cannot run " + helper + ": " + std::strerror(spawn_error);
    return false;
  }
  // Under Yama's ptrace_scope=1 only an ancestor may trace us, and the helper is our
  // child: name it as our tracer. The slot holds one pid and dies with it. EINVAL
  // means no Yama, nothing to allow.
  ::prctl(PR_SET_PTRACER, static_cast<unsigned long>(child), 0, 0, 0);
  const char go[] = "go\n";
  (void)!::write(input.write_end(), go, sizeof go - 1);
  input.close_write();

  std::string text;
  const long long deadline = now_ms() + timeout_ms;
  bool timed_out = false;
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{out.read_end(), POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(out.read_end(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (text.size() < (1u << 20)) text.append(buf, static_cast<size_t>(n));
  }
  if (timed_out) ::kill(child, SIGKILL);  // it detaches from every thread as it dies
  int status = 0;
  pid_t waited;
  do {
    waited = ::waitpid(child, &status, 0);
  } while (waited < 0 && errno == EINTR);
  // ECHILD: the program reaps children itself (a SIGCHLD handler, or SIG_IGN); the
  // output still says how it went.
  const bool status_known = waited == child;

  output.clear();
  std::string helper_error;
  bool succeeded_line = false;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.rfind(kErrorPrefix, 0) == 0) {
      helper_error = line.substr(std::strlen(kErrorPrefix));
    } else if (!line.empty()) {
      output.push_back(line);
      succeeded_line = true;
    }
  }
  if (timed_out) {
    error = helper + " did not finish within " + std::to_string(timeout_ms) + " ms; stopped it";
    return false;
  }
  bool ok = status_known ? (WIFEXITED(status) && WEXITSTATUS(status) == 0) : (helper_error.empty() && succeeded_line);
  if (ok) return true;
  if (!helper_error.empty())
    error = helper_error;
  else if (status_known && WIFSIGNALED(status))
    error = helper + " was killed by signal " + std::to_string(WTERMSIG(status));
  else
    error = helper + " failed" + (status_known && WIFEXITED(status) ? " with exit code " + std::to_string(WEXITSTATUS(status)) : "");
  return false;
}

}  // namespace hotpatch::runtime

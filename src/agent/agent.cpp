#include "agent/agent.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "agent/operations.h"
#include "agent/patch_store.h"
#include "agent/proc_events.h"
#include "agent/proc_scan.h"
#include "agent/program_start.h"
#include "common/error.h"
#include "common/paths.h"
#include "elf/elf_image.h"

namespace hotpatch::ops {

namespace {

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_reload = 0;
void on_stop(int) { g_stop = 1; }
void on_reload(int) { g_reload = 1; }

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Where the agent's lines go: the journal (stderr with <N> priority prefixes, when
// systemd connected stderr to it), syslog, or plain stderr (a terminal, tests).
class Log {
 public:
  explicit Log(AgentOptions::LogTo to) : to_(to) {
    if (to_ == AgentOptions::LogTo::Auto) {
      journal_ = std::getenv("JOURNAL_STREAM") != nullptr;
      to_ = journal_ ? AgentOptions::LogTo::Stderr : AgentOptions::LogTo::Syslog;
    }
    if (to_ == AgentOptions::LogTo::Syslog) ::openlog("hotpatch-agent", LOG_PID, LOG_DAEMON);
  }
  ~Log() {
    if (to_ == AgentOptions::LogTo::Syslog) ::closelog();
  }
  void info(const std::string& line) { write(LOG_INFO, line); }
  void warning(const std::string& line) { write(LOG_WARNING, line); }
  void error(const std::string& line) { write(LOG_ERR, line); }

 private:
  void write(int priority, const std::string& line) {
    if (to_ == AgentOptions::LogTo::Syslog) {
      ::syslog(priority, "%s", line.c_str());
    } else if (journal_) {
      fmt::print(stderr, "<{}>{}\n", priority, line);
    } else {
      fmt::print(stderr, "hotpatch-agent: {}\n", line);
    }
    std::fflush(stderr);
  }
  AgentOptions::LogTo to_;
  bool journal_ = false;
};

// systemd's readiness notification (Type=notify), without linking libsystemd.
void notify_systemd(const char* state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || (path[0] != '/' && path[0] != '@')) return;
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = 0;
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + std::strlen(path));
  ::sendto(fd, state, std::strlen(state), 0, reinterpret_cast<sockaddr*>(&addr), len);
  ::close(fd);
}

// One agent per run directory: agent.pid, locked for the agent's life.
class PidFile {
 public:
  explicit PidFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(ErrorKind::Internal, errno_message(fmt::format("cannot open {}", path), errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      char buf[32] = {};
      ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
      ::close(fd_);
      throw Error(ErrorKind::Conflict, fmt::format("another agent (pid {}) runs with {}", n > 0 ? std::string(buf, n - (buf[n - 1] == '\n')) : "?", path));
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
      throw Error(ErrorKind::Internal, errno_message(fmt::format("cannot write {}", path), errno));
  }
  ~PidFile() {
    ::unlink(path_.c_str());
    ::close(fd_);
  }

 private:
  std::string path_;
  int fd_ = -1;
};

void make_dir(const std::string& dir, mode_t mode) {
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), mode) != 0 && errno != EEXIST)
      throw Error(ErrorKind::Internal, errno_message(fmt::format("cannot create {}", part), errno));
  }
}

std::string exe_path(pid_t pid) {
  char buf[4096];
  ssize_t n = ::readlink(fmt::format("/proc/{}/exe", pid).c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : std::string("?");
}

// The exec event races the new process's dynamic loader (about 1 ms for a small
// program): a woken agent at normal priority on a busy machine waited for a CPU
// for longer than that, and found the program already running (measured: 4 starts
// of 5 missed, at load 16 on 2 cores). Real-time priority while waiting for events
// and seizing makes the wake-up immediate; the work of an apply runs at normal
// priority again. Best effort: without CAP_SYS_NICE it stays as it is.
bool set_realtime(bool on) {
  sched_param p{};
  p.sched_priority = on ? 10 : 0;
  return ::sched_setscheduler(0, on ? SCHED_FIFO : SCHED_OTHER, &p) == 0;
}

std::string ms(uint64_t ns) { return fmt::format("{:.1f} ms", static_cast<double>(ns) / 1e6); }

class Agent {
 public:
  Agent(const AgentOptions& opts, Log& log)
      : opts_(opts), log_(log), store_(opts.patch_dir), parked_dir_(opts.run_dir + "/parked") {}

  void run() {
    make_dir(opts_.run_dir, 0755);
    PidFile pid_file(opts_.run_dir + "/agent.pid");
    make_dir(parked_dir_, 0700);
    for (pid_t pid : ProgramStart::recover(parked_dir_))
      log_.warning(fmt::format("process {}: let it start: an agent that died had held it at its entry point", pid));
    make_dir(store_.dir(), 0755);
    store_.check_trusted();
    ProcEvents events;  // before reading the patches: no start is missed in between
    load_patches();

    struct sigaction sa{};
    sa.sa_handler = on_stop;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    sa.sa_handler = on_reload;
    ::sigaction(SIGHUP, &sa, nullptr);
    sa.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &sa, nullptr);

    realtime_ = set_realtime(true);
    if (!realtime_) log_.warning("cannot run at real-time priority (no CAP_SYS_NICE?): starts will often be caught late");
    log_.info(fmt::format("ready: watching process starts; {} patch{} in {}", patches_.size(),
                          patches_.size() == 1 ? "" : "es", store_.dir()));
    notify_systemd("READY=1");
    while (!g_stop) {
      bool lost = false;
      auto news = events.wait(std::chrono::milliseconds(1000), lost);
      if (g_reload || store_.version() != store_version_) {
        g_reload = 0;
        load_patches();
      }
      for (const auto& ev : news) {
        if (g_stop) break;
        on_exec(ev);
      }
      if (lost) {
        log_.warning("the kernel dropped process events (too many starts at once); looking for the processes missed");
        catch_up();
      }
    }
    notify_systemd("STOPPING=1");
    log_.info("stopping");
  }

 private:
  void load_patches() {
    std::vector<std::string> problems;
    store_version_ = store_.version();
    patches_ = store_.patches(&problems);
    for (const auto& p : problems) log_.warning(p);
    std::erase_if(patches_, [&](const PatchFile& p) {
      if (p.build_id) return false;
      log_.warning(fmt::format("{}: names no build-id; skipped", p.path));
      return true;
    });
    library_patches_ = std::count_if(patches_.begin(), patches_.end(), [](const PatchFile& p) { return p.object.has_value(); });
    std::vector<std::string> ids;
    for (const auto& p : patches_) ids.push_back(p.id + (p.object ? " (" + *p.object + ")" : ""));
    log_.info(fmt::format("patches: {}", ids.empty() ? "none" : fmt::format("{}", fmt::join(ids, ", "))));
  }

  // The patches that fit process `pid`: its program's build-id, and, with the
  // libraries mapped, theirs.
  std::vector<const PatchFile*> matching(pid_t pid, bool with_libraries) {
    std::vector<const PatchFile*> out;
    auto program = ids_.of_program(pid);
    for (const auto& p : patches_)
      if (!p.object && program && p.build_id == program) out.push_back(&p);
    if (with_libraries && library_patches_ > 0) {
      std::set<std::string> mapped;
      for (const auto& f : mapped_files(pid))
        if (auto id = ids_.of_mapped(pid, f)) mapped.insert(*id);
      for (const auto& p : patches_)
        if (p.object && mapped.count(*p.build_id)) out.push_back(&p);
    }
    return out;
  }

  // Whether process `pid` may map a library an installed patch is for: the program
  // names it in DT_NEEDED, or the process was started with it in LD_PRELOAD. Only
  // then is its start held until the libraries are mapped, to look at them.
  bool may_map_patched_library(pid_t pid) {
    if (library_patches_ == 0) return false;
    std::vector<std::string> names = ids_.needed_by_program(pid);
    std::ifstream env(fmt::format("/proc/{}/environ", pid));
    for (std::string var; std::getline(env, var, '\0');)
      if (var.starts_with("LD_PRELOAD="))
        for (size_t pos = 11; pos < var.size();) {
          size_t end = var.find_first_of(": ", pos);
          if (end == std::string::npos) end = var.size();
          if (end > pos) names.push_back(base_name(var.substr(pos, end - pos)));
          pos = end + 1;
        }
    for (const auto& p : patches_)
      if (p.object && std::find(names.begin(), names.end(), base_name(*p.object)) != names.end()) return true;
    return false;
  }

  void on_exec(const ExecEvent& ev) {
    const pid_t pid = ev.pid;
    if (pid == ::getpid() || patches_.empty()) return;
    auto fits = matching(pid, false);
    const bool maybe_library = may_map_patched_library(pid);
    if (fits.empty() && !maybe_library) {
      if (opts_.verbose) log_.info(fmt::format("process {} ({}): no installed patch fits it", pid, exe_path(pid)));
      return;
    }
    ProgramStart start(pid, opts_.hold_timeout, parked_dir_);
    if (start.state() == ProgramStart::State::Gone) return;
    // Held (or too late): the rest is ordinary work, at ordinary priority.
    struct NormalPriority {
      bool was_realtime;
      explicit NormalPriority(bool rt) : was_realtime(rt) {
        if (rt) set_realtime(false);
      }
      ~NormalPriority() {
        if (was_realtime) set_realtime(true);
      }
    } normal(realtime_);
    const bool parked = start.state() == ProgramStart::State::Parked;
    if (maybe_library) fits = matching(pid, true);
    if (fits.empty()) return;  // released by start's destructor
    const std::string exe = exe_path(pid);
    for (const PatchFile* p : fits) {
      uint64_t t0 = monotonic_ns();
      try {
        ApplyOutcome o = apply_once(pid, *p, opts_.apply_timeout);
        uint64_t done = monotonic_ns();
        if (o.already_applied) {
          log_.info(fmt::format("process {} ({}): {} already applied", pid, exe, p->id));
          continue;
        }
        log_.info(fmt::format("process {} ({}): applied {} in {}, {} after exec, {}", pid, exe, p->id, ms(done - t0),
                              ms(done - ev.timestamp_ns),
                              parked ? "before the program started" : "while it ran (" + start.detail() + ")"));
      } catch (const std::exception& e) {
        log_.error(fmt::format("process {} ({}): could not apply {}: {}", pid, exe, p->id, e.what()));
      }
    }
    start.release();
    if (parked) log_.info(fmt::format("process {}: started, {} after exec", pid, ms(monotonic_ns() - ev.timestamp_ns)));
  }

  // After lost events: every process started since the agent that a patch fits and
  // that lacks it (older ones are the administrator's to patch, or not).
  void catch_up() {
    for (pid_t pid : all_processes()) {
      if (process_start_time(pid) < started_) continue;
      auto fits = matching(pid, true);
      for (const PatchFile* p : fits) {
        try {
          ApplyOutcome o = apply_once(pid, *p, opts_.apply_timeout);
          if (!o.already_applied) log_.info(fmt::format("process {} ({}): applied {} (missed start)", pid, exe_path(pid), p->id));
        } catch (const std::exception& e) {
          log_.error(fmt::format("process {} ({}): could not apply {}: {}", pid, exe_path(pid), p->id, e.what()));
        }
      }
    }
  }

  const AgentOptions& opts_;
  Log& log_;
  PatchStore store_;
  std::string parked_dir_;
  std::string store_version_;
  std::vector<PatchFile> patches_;
  size_t library_patches_ = 0;
  BuildIdCache ids_;
  const uint64_t started_ = process_start_time(::getpid());
  bool realtime_ = false;
};

}  // namespace

void run_agent(const AgentOptions& opts) {
  Log log(opts.log_to);
  Agent(opts, log).run();  // what stops it from starting: main prints it (stderr: the journal under systemd)
}

}  // namespace hotpatch::ops

#include "agent/program_start.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "agent/proc_scan.h"
#include "arch/arch.h"
#include "common/error.h"
#include "loader/address_space.h"

namespace hotpatch::ops {

namespace {

using Clock = std::chrono::steady_clock;

uint64_t auxv_value(pid_t pid, uint64_t type) {
  int fd = ::open(fmt::format("/proc/{}/auxv", pid).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  uint64_t pair[2];
  uint64_t value = 0;
  while (::read(fd, pair, sizeof pair) == sizeof pair && pair[0] != AT_NULL)
    if (pair[0] == type) value = pair[1];
  ::close(fd);
  return value;
}

// The process's memory through /proc/PID/mem (writes go through page protections).
class Memory {
 public:
  explicit Memory(pid_t pid) : fd_(::open(fmt::format("/proc/{}/mem", pid).c_str(), O_RDWR | O_CLOEXEC)) {}
  ~Memory() {
    if (fd_ >= 0) ::close(fd_);
  }
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;
  bool read(uint64_t addr, void* out, size_t len) const {
    return fd_ >= 0 && ::pread(fd_, out, len, static_cast<off_t>(addr)) == static_cast<ssize_t>(len);
  }
  bool write(uint64_t addr, const std::vector<uint8_t>& bytes) const {
    return fd_ >= 0 && ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(addr)) == static_cast<ssize_t>(bytes.size());
  }

 private:
  int fd_;
};

enum class Stop { Interrupted, GroupStop, Exited };

// Waits for the stop our PTRACE_INTERRUPT asked for; signals that arrive for the
// thread meanwhile are delivered as they would have been.
Stop wait_for_interrupt(pid_t pid) {
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, __WALL) < 0) {
      if (errno == EINTR) continue;
      return Stop::Exited;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) return Stop::Exited;
    if (!WIFSTOPPED(status)) continue;
    int sig = WSTOPSIG(status);
    if ((status >> 16) == PTRACE_EVENT_STOP) return sig == SIGTRAP ? Stop::Interrupted : Stop::GroupStop;
    // A signal for the program: deliver it, our interrupt is still to come.
    if (::ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<uintptr_t>(sig))) != 0) return Stop::Exited;
  }
}

bool interrupt(pid_t pid) { return ::ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr) == 0; }

std::optional<arch::Registers> registers(pid_t pid) {
  user_regs_struct raw{};
  if (::ptrace(PTRACE_GETREGS, pid, nullptr, &raw) != 0) return std::nullopt;
  return arch::Registers(raw);
}

std::string hex(const std::vector<uint8_t>& bytes) {
  std::string s;
  for (uint8_t b : bytes) s += fmt::format("{:02x}", b);
  return s;
}

std::vector<uint8_t> unhex(const std::string& s) {
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i + 1 < s.size(); i += 2) bytes.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
  return bytes;
}

// With the thread stopped: the loop at `entry` gives way to `original` again, and a
// thread in the loop is put at the entry. Only if the loop is still ours there (an
// execve meanwhile brought other code).
void restore_entry(pid_t pid, RemoteAddr entry, const std::vector<uint8_t>& original) {
  Memory mem(pid);
  std::vector<uint8_t> loop = arch::self_loop_instruction(), now(loop.size());
  if (!mem.read(entry.value(), now.data(), now.size()) || now != loop) return;
  if (!mem.write(entry.value(), original))
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {}: cannot restore its entry point at {}", pid, entry), errno));
  if (auto regs = registers(pid); regs && regs->pc() != entry && regs->pc() > entry &&
                                  regs->pc() < entry + static_cast<int64_t>(loop.size())) {
    regs->set_pc(entry);
    ::ptrace(PTRACE_SETREGS, pid, nullptr, &regs->raw());
  }
}

}  // namespace

ProgramStart::ProgramStart(pid_t pid, std::chrono::milliseconds timeout, std::string record_dir)
    : pid_(pid), record_dir_(std::move(record_dir)) {
  const auto deadline = Clock::now() + timeout;
  entry_ = RemoteAddr(auxv_value(pid, AT_ENTRY));
  start_time_ = process_start_time(pid);
  if (entry_.is_null() || start_time_ == 0) {
    state_ = State::Gone;
    return;
  }
  if (::ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) != 0) {
    if (errno == ESRCH) {
      state_ = State::Gone;
    } else {
      state_ = State::Running;
      detail_ = errno_message("cannot hold it at its entry point (traced by someone else?)", errno);
    }
    return;
  }
  seized_ = true;
  try {
    park(deadline);
  } catch (...) {
    release();
    throw;
  }
}

void ProgramStart::park(Clock::time_point deadline) {
  auto detach = [&] {
    ::ptrace(PTRACE_DETACH, pid_, nullptr, nullptr);
    seized_ = false;
  };
  if (!interrupt(pid_) || wait_for_interrupt(pid_) == Stop::Exited) {
    seized_ = false;
    state_ = State::Gone;
    return;
  }
  auto regs = registers(pid_);
  const RemoteAddr initial_sp(stat_field(pid_, kStatStartStack));
  std::array<uint64_t, 3> below{};
  Memory mem(pid_);
  if (!regs || initial_sp.is_null() || !mem.read(initial_sp.value() - sizeof below, below.data(), sizeof below)) {
    detach();
    state_ = State::Gone;
    return;
  }
  // The program's own code: the executable mappings of the file /proc/PID/exe is.
  char exe[4096];
  ssize_t n = ::readlink(fmt::format("/proc/{}/exe", pid_).c_str(), exe, sizeof exe - 1);
  std::vector<RemoteRange> program_code;
  if (n > 0) {
    exe[n] = 0;
    try {
      const AddressSpace space = AddressSpace::read(pid_, fmt::format("/proc/{}/maps", pid_));
      for (const auto& m : space.mappings())
        if (m.executable && m.path == exe) program_code.push_back(m.range);
    } catch (const Error&) {
    }
  }
  auto in_program = [&](RemoteAddr a) {
    for (const auto& r : program_code)
      if (r.contains(a)) return true;
    return false;
  };
  if (program_code.empty() || arch::program_started(*regs, initial_sp, entry_, below, in_program)) {
    detach();
    state_ = State::Running;
    detail_ = "the program had already started";
    return;
  }

  // Record the park before making it: an agent killed from here on leaves a file
  // that the next one acts on (recover()).
  const std::vector<uint8_t> loop = arch::self_loop_instruction();
  original_.assign(loop.size(), 0);
  if (!mem.read(entry_.value(), original_.data(), original_.size())) {
    detach();
    state_ = State::Gone;
    return;
  }
  {
    std::ofstream rec(record_path(), std::ios::trunc);
    rec << start_time_ << ' ' << fmt::format("{:#x}", entry_.value()) << ' ' << hex(original_) << '\n';
    if (!rec.flush())
      throw Error(ErrorKind::Internal, errno_message(fmt::format("cannot write {}", record_path()), errno));
  }
  if (!mem.write(entry_.value(), loop))
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {}: cannot write at its entry point {}", pid_, entry_), errno));
  state_ = State::Parked;

  // Let ld.so finish; look every so often whether the thread is in the loop.
  auto pause = std::chrono::microseconds(100);
  for (;;) {
    if (::ptrace(PTRACE_CONT, pid_, nullptr, nullptr) != 0) break;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(2000));
    if (!interrupt(pid_)) break;
    Stop stop = wait_for_interrupt(pid_);
    if (stop == Stop::Exited) break;
    auto now = registers(pid_);
    if (stop == Stop::Interrupted && now && now->pc() == entry_) {
      detach();  // it spins at the entry, untraced, until release()
      return;
    }
    if (stop == Stop::GroupStop || Clock::now() >= deadline) {
      restore_entry(pid_, entry_, original_);
      detach();
      std::remove(record_path().c_str());
      state_ = State::Running;
      detail_ = stop == Stop::GroupStop ? "it was stopped by a signal before its entry point"
                                        : "it did not reach its entry point in time";
      return;
    }
  }
  // Exited, or ran another program: nothing of ours is left in it.
  seized_ = false;
  std::remove(record_path().c_str());
  state_ = State::Gone;
}

std::string ProgramStart::record_path() const { return fmt::format("{}/{}", record_dir_, pid_); }

void ProgramStart::release() {
  if (state_ != State::Parked) {
    if (seized_) ::ptrace(PTRACE_DETACH, pid_, nullptr, nullptr);
    seized_ = false;
    return;
  }
  state_ = State::Running;
  // The same process still (not a reused pid)?
  if (process_start_time(pid_) == start_time_) {
    if (!seized_ && ::ptrace(PTRACE_SEIZE, pid_, nullptr, nullptr) == 0) seized_ = true;
    if (seized_ && interrupt(pid_) && wait_for_interrupt(pid_) != Stop::Exited) {
      restore_entry(pid_, entry_, original_);
      ::ptrace(PTRACE_DETACH, pid_, nullptr, nullptr);
    } else if (!seized_) {
      fmt::print(stderr, "hotpatch: warning: process {}: cannot take it back to let it start (traced by someone "
                         "else?); it stays at its entry point, see {}\n", pid_, record_path());
      return;
    }
  }
  seized_ = false;
  std::remove(record_path().c_str());
}

ProgramStart::~ProgramStart() {
  try {
    release();
  } catch (const std::exception& e) {
    fmt::print(stderr, "hotpatch: warning: process {}: {}\n", pid_, e.what());
  }
}

std::vector<pid_t> ProgramStart::recover(const std::string& record_dir) {
  std::vector<pid_t> let_go;
  DIR* d = ::opendir(record_dir.c_str());
  if (!d) return let_go;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] >= '1' && e->d_name[0] <= '9') names.push_back(e->d_name);
  ::closedir(d);
  for (const auto& name : names) {
    std::string path = record_dir + "/" + name;
    std::ifstream in(path);
    uint64_t start_time = 0;
    std::string entry_text, original_text;
    pid_t pid = static_cast<pid_t>(std::strtol(name.c_str(), nullptr, 10));
    if (in >> start_time >> entry_text >> original_text && process_start_time(pid) == start_time &&
        ::ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) == 0) {
      if (interrupt(pid) && wait_for_interrupt(pid) != Stop::Exited) {
        restore_entry(pid, RemoteAddr(std::strtoull(entry_text.c_str(), nullptr, 16)), unhex(original_text));
        ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
        let_go.push_back(pid);
      }
    }
    std::remove(path.c_str());
  }
  return let_go;
}

}  // namespace hotpatch::ops

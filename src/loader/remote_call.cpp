#include "loader/remote_call.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cstring>
#include <vector>
#include <thread>

#include <fmt/core.h>

#include "arch/arch.h"
#include "common/error.h"
#include "loader/process.h"
#include "loader/target_objects.h"

namespace hotpatch {

namespace {

// Below vm.mmap_min_addr (64 KiB), so never mapped: returning here faults with this
// exact pc, which is how we know the call is over.
constexpr RemoteAddr kReturnTrap(0x4854);
constexpr size_t kScratchSize = 8192;

bool is_synchronous_fault(int sig, const siginfo_t& info) {
  // si_code > 0: raised by the kernel for an instruction of this thread, not sent.
  return (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP) && info.si_code > 0;
}

}  // namespace

RemoteCall::RemoteCall(Process& process, Thread& thread) : process_(process), thread_(thread) {
  thread_.save_all_registers();
  scratch_top_ = RemoteAddr((thread_.registers().sp().value() - arch::kRedZoneSize) & ~uint64_t{15});
  scratch_next_ = scratch_top_;
}

RemoteCall::~RemoteCall() {
  try {
    thread_.restore_all_registers();
  } catch (...) {
  }
}

RemoteAddr RemoteCall::push_string(const std::string& s) {
  size_t len = s.size() + 1;
  if (scratch_top_ - scratch_next_ + static_cast<int64_t>(len) > static_cast<int64_t>(kScratchSize))
    throw Error(ErrorKind::Internal, "remote call scratch space exhausted");
  scratch_next_ = RemoteAddr((scratch_next_.value() - len) & ~uint64_t{15});
  process_.write(scratch_next_, s.c_str(), len);
  return scratch_next_;
}

uint64_t RemoteCall::call(RemoteAddr function, std::initializer_list<uint64_t> args, const std::string& what,
                          std::chrono::milliseconds warn_after) {
  pid_t pid = process_.pid();
  pid_t tid = thread_.tid();
  arch::Registers regs = thread_.registers();
  std::vector<uint64_t> argv(args);
  arch::CallFrame frame = arch::prepare_call(regs, function, argv, scratch_next_ - 64, kReturnTrap);
  process_.write_bytes(frame.stack_pointer, frame.stack_bytes);
  thread_.set_registers(regs);
  thread_.resume(0);

  auto started = std::chrono::steady_clock::now();
  auto next_warning = started + warn_after;
  for (;;) {
    auto status = thread_.wait_status(next_warning);
    if (!status) {
      auto waited = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
      fmt::print(stderr, "hotpatch: warning: process {} thread {}: {} has not returned after {} s; still waiting\n", pid,
                 tid, what, waited.count());
      next_warning += warn_after;
      continue;
    }
    int st = *status;
    if (WIFEXITED(st) || WIFSIGNALED(st))
      throw Error(ErrorKind::Target, fmt::format("process {}: exited during {} on thread {}", pid, what, tid));
    if (!WIFSTOPPED(st)) continue;
    int sig = WSTOPSIG(st);
    int event = st >> 16;
    if (event == PTRACE_EVENT_STOP) {
      // A group-stop (SIGSTOP...) or a stray interrupt: finish the call first; the
      // kernel puts the thread back in the group-stop when we detach.
      if (sig != SIGTRAP) thread_.note_group_stop_seen();
      thread_.resume(0);
      continue;
    }
    siginfo_t info{};
    ::ptrace(PTRACE_GETSIGINFO, tid, nullptr, &info);
    arch::Registers now = thread_.read_registers();
    if (sig == SIGSEGV && now.pc() == kReturnTrap) {
      return now.return_value();
    }
    if (is_synchronous_fault(sig, info)) {
      // The call crashed. Delivering the signal would kill the process; instead the
      // destructor puts the thread back where it was.
      throw Error(ErrorKind::Internal, fmt::format("process {} thread {}: {} faulted (signal {}) at pc {}; the thread "
                                                   "was restored, the call abandoned",
                                                   pid, tid, what, strsignal(sig), now.pc()));
    }
    // A signal for the program: deliver it now, as it would be at any other point
    // of the program's own code; its handler returns into the call.
    thread_.resume(sig);
  }
}

// --------------------------------------------------------------------------------

namespace {

bool syscall_is_memory_management(int64_t nr) {
  switch (nr) {
    case SYS_mmap: case SYS_munmap: case SYS_mremap: case SYS_mprotect: case SYS_brk: case SYS_madvise:
      return true;  // malloc may hold an arena lock around these
    default:
      return false;
  }
}

bool is_runtime_library(const LoadedObject& o) {
  std::string base = o.basename();
  return base.rfind("libc.so", 0) == 0 || base.rfind("ld-linux", 0) == 0 || base.rfind("libc-", 0) == 0 ||
         base.rfind("ld-", 0) == 0;
}

// glibc's fork() holds its atfork lock, stdio's list lock and the malloc arena
// locks from before its first rt_sigprocmask (blocking all signals) until after
// the clone and the second rt_sigprocmask (restoring them); it takes and drops
// the arena locks one by one, in libc's own lock code (futex wait and wake),
// while holding the others. A thread stopped in any of those syscalls holds
// locks that a call run on it needs (malloc in dlopen, __unregister_atfork in
// dlclose): the call waits for the thread itself, forever. Seen, each of them,
// in tests/e2e/fork_during_apply. None of these syscalls blocks for long (but
// the lock wait), so passing such a thread over costs nothing.
bool syscall_may_be_inside_fork(int64_t nr) {
  return nr == SYS_clone || nr == SYS_clone3 || nr == SYS_fork || nr == SYS_vfork || nr == SYS_rt_sigprocmask;
}

// libc's code that waits for and wakes waiters of its internal locks (malloc's,
// stdio's, fork's, ...): a thread in a syscall there is inside some libc
// function that may hold other such locks.
std::vector<RemoteRange> libc_internal_lock_code(const TargetObjects& objects) {
  std::vector<RemoteRange> ranges;
  const LoadedObject* libc = objects.find_object("libc.so.6");
  if (!libc) return ranges;
  for (const char* name : {"__lll_lock_wait_private", "__lll_lock_wake_private"}) {
    auto f = objects.try_resolve(name, libc, true);
    if (f && f->symbol.size) ranges.push_back({f->address, f->address + static_cast<int64_t>(f->symbol.size)});
  }
  return ranges;
}

// Why this thread is not a good place to run loader code right now, or "" if it is.
std::string unsafe_reason(const Thread& t, const TargetObjects& objects, const std::vector<RemoteRange>& libc_lock_code) {
  if (t.stop_kind() == StopKind::SignalDelivery) return "a signal is being delivered to it";
  const arch::Registers& regs = t.registers();
  int64_t nr = regs.syscall_number();
  if (nr >= 0) {
    if (syscall_is_memory_management(nr)) return "it is in a memory-management syscall";
    if (syscall_may_be_inside_fork(nr)) return "it may be inside fork(), which holds malloc's locks";
    for (const auto& r : libc_lock_code)
      if (r.contains(regs.pc())) return "it is in libc's internal locking and may hold libc's locks";
    return "";
  }
  const LoadedObject* where = objects.object_containing(regs.pc());
  if (where && is_runtime_library(*where)) return "it is running libc or dynamic-loader code";
  return "";
}

}  // namespace

std::unique_ptr<Thread> acquire_thread_for_calls(Process& process, const TargetObjects& objects,
                                                 std::chrono::steady_clock::time_point deadline) {
  std::string last_reason;
  const std::vector<RemoteRange> libc_lock_code = libc_internal_lock_code(objects);
  for (int round = 0;; ++round) {
    std::vector<pid_t> tids = process.thread_ids();
    if (tids.empty()) throw Error(ErrorKind::Target, fmt::format("process {}: exited", process.pid()));
    for (pid_t tid : tids) {
      auto t = std::make_unique<Thread>(process.pid(), tid);
      if (!t->seize_and_interrupt()) continue;
      if (!t->wait_for_stop()) continue;
      std::string reason = unsafe_reason(*t, objects, libc_lock_code);
      if (reason.empty()) return t;
      last_reason = fmt::format("thread {}: {}", tid, reason);
      t->release();
    }
    if (std::chrono::steady_clock::now() >= deadline)
      throw Error(ErrorKind::Busy, fmt::format("process {}: no thread reached a point where code can be loaded safely "
                                               "({})", process.pid(), last_reason));
    std::this_thread::sleep_for(std::chrono::microseconds(round < 10 ? 200 : 2000));
  }
}

}  // namespace hotpatch

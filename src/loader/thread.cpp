#include "loader/thread.h"

#include <elf.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "common/error.h"
#include "loader/process.h"

namespace hotpatch {

namespace {

// Wait statuses of our tracees collected while waiting for another one. A traced
// thread that exits stays a zombie until its tracer reaps it, and an execve in
// another thread waits for exactly that (de_thread) before anything else happens:
// waiting for one thread alone would then wait forever. So every wait takes whatever
// any tracee reports, and keeps what is not its own here for its owner.
std::map<pid_t, std::deque<int>>& stashed_statuses() {
  static std::map<pid_t, std::deque<int>> stash;
  return stash;
}

// Threads a wait gave up on (Thread::StopWait::Late): seized and interrupted by us,
// not stopped yet. PTRACE_DETACH needs a stopped tracee, so they stay ours until
// their stop comes (Thread::settle_late lets them go then) or until this process
// exits (the kernel then detaches them, dropping the pending interrupt). By tid;
// the value is the process id.
std::map<pid_t, pid_t>& late_threads() {
  static std::map<pid_t, pid_t> late;
  return late;
}

// Set when a late thread's status was stashed: its stop has come, and whoever waits
// next lets it go (Thread::settle_late) rather than leave it stopped meanwhile.
bool& late_news() {
  static bool news = false;
  return news;
}

// One status for `tid`, without blocking: stashed, else whatever waitpid has (any
// tracee's news is stashed for its owner). nullopt if there is nothing yet; ECHILD
// means no tracee is left at all, so none for `tid` either.
std::optional<int> poll_status(pid_t tid, bool& no_tracees) {
  auto& stash = stashed_statuses();
  if (auto it = stash.find(tid); it != stash.end() && !it->second.empty()) {
    int status = it->second.front();
    it->second.pop_front();
    if (it->second.empty()) stash.erase(it);
    return status;
  }
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(-1, &status, __WALL | WNOHANG);
    if (r == tid) return status;
    if (r > 0) {
      stash[r].push_back(status);
      if (late_threads().count(r)) late_news() = true;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    no_tracees = r < 0 && errno == ECHILD;
    return std::nullopt;
  }
}

std::string tracer_hint(pid_t pid, pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("TracerPid:", 0) == 0) {
      long tracer = std::stol(line.substr(10));
      if (tracer != 0) return fmt::format(": already traced by process {} (a debugger or another hotpatch?)", tracer);
    }
  }
  return "";
}

}  // namespace

namespace {
std::vector<HoldWatch*>& hold_watches() {
  static std::vector<HoldWatch*> watches;
  return watches;
}
}  // namespace

HoldWatch::HoldWatch() { hold_watches().push_back(this); }
HoldWatch::~HoldWatch() { std::erase(hold_watches(), this); }

void HoldWatch::note(pid_t tid, std::chrono::steady_clock::duration held) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(held);
  for (HoldWatch* w : hold_watches())
    if (us >= w->longest_.held) w->longest_ = {us, tid};
}

Thread::~Thread() {
  try {
    release();
  } catch (...) {
    // A destructor must not throw; release() only fails if the thread is gone.
  }
}

bool Thread::seize_and_interrupt() {
  if (auto late = late_threads().find(tid_); late != late_threads().end() && late->second == pid_) {
    // Still ours from a wait that gave up on it, its interrupt still pending.
    late_threads().erase(late);
    seized_ = true;
    interrupted_at_ = std::chrono::steady_clock::now();
    return true;
  }
  if (::ptrace(PTRACE_SEIZE, tid_, nullptr, nullptr) != 0) {
    if (errno == ESRCH) return false;
    int err = errno;
    // A thread that is exiting (or a leader that already did) cannot be seized
    // either: EPERM. That is "gone", not "not permitted".
    char state = thread_state(pid_, tid_);
    if (err == EPERM && (state == 0 || state == 'Z' || state == 'X')) return false;
    throw Error(ErrorKind::Target,
                errno_message(fmt::format("process {} thread {}: cannot trace{}", pid_, tid_, tracer_hint(pid_, tid_)), err));
  }
  seized_ = true;
  // The tid was read from /proc/PID/task before the seize. If that thread has exited
  // since, the number may already be a new thread of any process, and the seize took
  // that one. Traced, its number cannot pass on again (it is held until its tracer
  // reaps it), so one check settles it: tgkill with signal 0 fails with ESRCH for a
  // tid outside the thread group.
  if (::syscall(SYS_tgkill, pid_, tid_, 0) != 0 && errno == ESRCH) {
    // Not ours: stop it only to let it go (a seized thread is detached from a stop).
    stranger_ = true;
    if (::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) == 0)
      wait_for_stop(std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
    release();
    return false;
  }
  if (::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) != 0) {
    if (errno == ESRCH) {
      seized_ = false;
      return false;
    }
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {} thread {}: PTRACE_INTERRUPT", pid_, tid_), errno));
  }
  interrupted_at_ = std::chrono::steady_clock::now();
  return true;
}

TraceeNewsWait::TraceeNewsWait() {
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  if (::pthread_sigmask(SIG_BLOCK, &chld, &old) == 0) changed_mask_ = !sigismember(&old, SIGCHLD);
}

TraceeNewsWait::~TraceeNewsWait() {
  if (!changed_mask_) return;
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::pthread_sigmask(SIG_UNBLOCK, &chld, nullptr);  // a SIGCHLD left pending is ignored (default)
}

bool TraceeNewsWait::sleep(std::chrono::microseconds timeout) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  timespec ts{static_cast<time_t>(timeout.count() / 1000000), static_cast<long>(timeout.count() % 1000000) * 1000};
  return ::sigtimedwait(&chld, nullptr, &ts) == SIGCHLD;
}

Thread::StopWait Thread::wait_for_stop(std::chrono::steady_clock::time_point deadline) {
  TraceeNewsWait news;  // usually nested in AllThreadsStopped's: then a no-op
  for (;;) {
    if (late_news()) settle_late();
    bool no_tracees = false;
    std::optional<int> polled = poll_status(tid_, no_tracees);
    if (!polled) {
      // Gone without a word we could collect (no tracee left, or an execve from
      // another thread took over its identity): not an error, threads come and go.
      if (no_tracees) {
        seized_ = false;
        return StopWait::Gone;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return StopWait::Late;
      // A stop or an exit of any tracee wakes us (SIGCHLD); a quiet 10 ms means this
      // thread may have vanished without a word to us (an execve took its identity).
      const auto nap = std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(10), deadline - now);
      if (!TraceeNewsWait::sleep(std::chrono::duration_cast<std::chrono::microseconds>(nap)) &&
          thread_state(pid_, tid_) == 0) {
        seized_ = false;
        return StopWait::Gone;
      }
      continue;
    }
    int status = *polled;
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      seized_ = false;
      return StopWait::Gone;
    }
    if (!WIFSTOPPED(status)) continue;
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (event == PTRACE_EVENT_STOP) {
      stop_kind_ = (sig == SIGTRAP) ? StopKind::Interrupt : StopKind::GroupStop;
    } else if (event == 0) {
      // A signal reached the thread before our interrupt did. We keep it and hand
      // it back on release; the interrupt itself is dropped by PTRACE_DETACH.
      stop_kind_ = StopKind::SignalDelivery;
      pending_signal_ = sig;
    } else {
      // No options are set, so no other event is expected; treat it as a stop.
      stop_kind_ = StopKind::Interrupt;
    }
    stopped_ = true;
    regs_ = read_registers();
    // Our interrupt made a never-restarted syscall (epoll_wait, sigtimedwait, ...)
    // return -EINTR: turn that into a restart the kernel itself performs when the
    // thread resumes, unless a signal handler runs first (then the program gets the
    // EINTR that signal means). Done now, not at release, so that it holds even when
    // this CLI is killed before it can release anyone.
    if (stop_kind_ == StopKind::Interrupt && arch::restart_unless_signalled(regs_)) set_registers(regs_);
    return StopWait::Stopped;
  }
}

arch::Registers Thread::read_registers() const {
  user_regs_struct raw{};
  if (::ptrace(PTRACE_GETREGS, tid_, nullptr, &raw) != 0)
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {} thread {}: PTRACE_GETREGS", pid_, tid_), errno));
  return arch::Registers(raw);
}

void Thread::set_registers(const arch::Registers& regs) {
  user_regs_struct raw = regs.raw();
  if (::ptrace(PTRACE_SETREGS, tid_, nullptr, &raw) != 0)
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {} thread {}: PTRACE_SETREGS", pid_, tid_), errno));
}

std::vector<uint8_t> Thread::read_extended_state() const {
  std::vector<uint8_t> state(1 << 14, 0);
  for (int type : {NT_X86_XSTATE, NT_PRFPREG}) {
    iovec iov{state.data(), state.size()};
    if (::ptrace(PTRACE_GETREGSET, tid_, reinterpret_cast<void*>(static_cast<uintptr_t>(type)), &iov) == 0) {
      state.resize(iov.iov_len);
      extended_type_ = type;
      return state;
    }
  }
  throw Error(ErrorKind::Target, errno_message(fmt::format("process {} thread {}: cannot read FPU state", pid_, tid_), errno));
}

void Thread::write_extended_state(const std::vector<uint8_t>& state) {
  std::vector<uint8_t> copy = state;
  iovec iov{copy.data(), copy.size()};
  if (::ptrace(PTRACE_SETREGSET, tid_, reinterpret_cast<void*>(static_cast<uintptr_t>(extended_type_)), &iov) != 0)
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {} thread {}: cannot restore FPU state", pid_, tid_), errno));
}

uint64_t Thread::blocked_signals() const {
  uint64_t mask = 0;
  if (::ptrace(PTRACE_GETSIGMASK, tid_, reinterpret_cast<void*>(sizeof mask), &mask) != 0)
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {} thread {}: PTRACE_GETSIGMASK", pid_, tid_), errno));
  return mask;
}

void Thread::trace_syscalls() {
  if (::ptrace(PTRACE_SETOPTIONS, tid_, nullptr, reinterpret_cast<void*>(PTRACE_O_TRACESYSGOOD)) != 0)
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {} thread {}: PTRACE_SETOPTIONS", pid_, tid_), errno));
}

void Thread::resume_to_syscall(int signal) {
  if (::ptrace(PTRACE_SYSCALL, tid_, nullptr, reinterpret_cast<void*>(static_cast<uintptr_t>(signal))) != 0)
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {} thread {}: PTRACE_SYSCALL", pid_, tid_), errno));
  stopped_ = false;
}

std::optional<Thread::SyscallStop> Thread::syscall_stop() const {
  __ptrace_syscall_info info{};
  long n = ::ptrace(PTRACE_GET_SYSCALL_INFO, tid_, reinterpret_cast<void*>(sizeof info), &info);
  if (n <= 0) return std::nullopt;
  if (info.op != PTRACE_SYSCALL_INFO_ENTRY && info.op != PTRACE_SYSCALL_INFO_EXIT) return std::nullopt;
  SyscallStop stop;
  stop.entry = info.op == PTRACE_SYSCALL_INFO_ENTRY;
  if (stop.entry) stop.number = static_cast<int64_t>(info.entry.nr);
  stop.pc = RemoteAddr(info.instruction_pointer);
  stop.sp = RemoteAddr(info.stack_pointer);
  return stop;
}

void Thread::resume(int signal) {
  if (::ptrace(PTRACE_CONT, tid_, nullptr, reinterpret_cast<void*>(static_cast<uintptr_t>(signal))) != 0)
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {} thread {}: PTRACE_CONT", pid_, tid_), errno));
  stopped_ = false;
}

std::optional<int> Thread::wait_status(std::chrono::steady_clock::time_point deadline) {
  auto pause = std::chrono::microseconds(0);
  for (;;) {
    if (late_news()) settle_late();
    bool no_tracees = false;
    if (std::optional<int> polled = poll_status(tid_, no_tracees)) {
      int status = *polled;
      if (WIFSTOPPED(status)) stopped_ = true;
      if (WIFEXITED(status) || WIFSIGNALED(status)) seized_ = false;
      return status;
    }
    if (no_tracees || thread_state(pid_, tid_) == 0) {
      seized_ = false;
      throw Error(ErrorKind::Target, fmt::format("process {} thread {}: exited while we were waiting for it", pid_, tid_));
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    // Short calls finish in microseconds: yield first, then back off to 1 ms.
    if (pause.count() == 0) {
      ::sched_yield();
      pause = std::chrono::microseconds(20);
    } else {
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
  }
}

void Thread::release() {
  if (!seized_) return;
  if (!stopped_) {
    // Interrupted but not stopped yet (a wait gave up on it): it cannot be detached
    // before its stop comes.
    late_threads()[tid_] = pid_;
    seized_ = false;
    return;
  }
  int sig = pending_signal_;
  if (!stranger_) HoldWatch::note(tid_, std::chrono::steady_clock::now() - interrupted_at_);
  if (::ptrace(PTRACE_DETACH, tid_, nullptr, reinterpret_cast<void*>(static_cast<uintptr_t>(sig))) != 0) {
    // ESRCH: not in a stop we can end. Dead (SIGKILL reaches a stopped thread too)
    // needs nothing; alive, it runs on as our tracee (resumed, not stopped since):
    // interrupt it and let it go when that stop comes, like a late thread.
    const char state = thread_state(pid_, tid_);
    if (state != 0 && state != 'Z' && state != 'X' && ::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) == 0)
      late_threads()[tid_] = pid_;
  }
  seized_ = false;
  stopped_ = false;
}

void Thread::settle_late() {
  late_news() = false;
  for (auto [tid, pid] : std::exchange(late_threads(), {})) {
    Thread t(pid, tid);
    t.seized_ = true;
    t.interrupted_at_ = std::chrono::steady_clock::now();  // its stop came a moment ago, if at all
    // Stopped by now: the destructor releases it; still not: it is remembered again.
    t.wait_for_stop(std::chrono::steady_clock::time_point::min());
  }
}

// --------------------------------------------------------------------------------

StopPriority::StopPriority() {
  if (const char* env = std::getenv("HOTPATCH_STOP_PRIORITY"); env && std::strcmp(env, "normal") == 0) return;
  int policy = ::sched_getscheduler(0);
  sched_param current{};
  if (policy < 0 || ::sched_getparam(0, &current) != 0) return;
  if ((policy & ~SCHED_RESET_ON_FORK) == SCHED_FIFO || (policy & ~SCHED_RESET_ON_FORK) == SCHED_RR) return;  // already real-time
  // The lowest real-time priority is enough to stay ahead of every CFS thread;
  // SCHED_RESET_ON_FORK keeps anything we might start from inheriting it.
  sched_param fifo{};
  fifo.sched_priority = ::sched_get_priority_min(SCHED_FIFO);
  if (::sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &fifo) != 0) return;  // not permitted: run as we are
  raised_ = true;
  saved_policy_ = policy;
  saved_priority_ = current.sched_priority;
}

void StopPriority::restore() {
  if (!raised_) return;
  raised_ = false;
  sched_param saved{};
  saved.sched_priority = saved_priority_;
  ::sched_setscheduler(0, saved_policy_, &saved);
}

ThreadsNotStopped::ThreadsNotStopped(pid_t pid, std::string reason)
    : Error(ErrorKind::Busy, fmt::format("process {}: {}", pid, reason)), reason_(std::move(reason)) {}

AllThreadsStopped::AllThreadsStopped(Process& process, std::chrono::steady_clock::time_point patience,
                                     std::optional<std::chrono::steady_clock::time_point> deadline_or_patience)
    : process_(process) {
  const auto deadline = std::max(patience, deadline_or_patience.value_or(patience));
  Thread::settle_late();
  first_interrupt_ = std::chrono::steady_clock::now();
  std::set<pid_t> known;
  // Interrupt every thread we know of before waiting for any, so they stop in
  // parallel; then look again for threads created meanwhile until none is new.
  for (int pass = 0;; ++pass) {
    std::vector<pid_t> tids = process_.thread_ids();
    if (tids.empty()) throw Error(ErrorKind::Target, fmt::format("process {}: exited", process_.pid()));
    std::vector<Thread*> fresh;
    for (pid_t tid : tids) {
      if (!known.insert(tid).second) continue;
      auto t = std::make_unique<Thread>(process_.pid(), tid);
      if (!t->seize_and_interrupt()) continue;
      fresh.push_back(t.get());
      threads_.push_back(std::move(t));
    }
    if (fresh.empty()) break;
    // A thread that runs or waits for a CPU (a loaded machine) stops as soon as it
    // gets one; one in uninterruptible sleep may not for a long time: give up on
    // that one at `patience`, on the others at the deadline, or, once the attempt
    // is lost anyway, 10 ms later (their stops are collected so that they can be
    // resumed now; one still not stopped is let go when its stop comes).
    std::optional<pid_t> late;
    auto give_up = deadline;
    for (Thread* t : fresh) {
      for (auto until = std::min(patience, give_up);;) {
        if (t->wait_for_stop(until) != Thread::StopWait::Late) break;
        const auto now = std::chrono::steady_clock::now();
        const bool stuck = thread_state(process_.pid(), t->tid()) == 'D';
        if (stuck || now >= give_up) {
          if (!late || (stuck && thread_state(process_.pid(), *late) != 'D')) late = t->tid();  // name a stuck one
          give_up = std::min(give_up, now + std::chrono::milliseconds(10));
          break;
        }
        until = std::min(give_up, now + std::chrono::milliseconds(5));
      }
    }
    if (late) {
      // Everyone who stopped goes back to work now; the late ones are let go when
      // their stops come (Thread::settle_late).
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                                first_interrupt_);
      release();
      throw ThreadsNotStopped(process_.pid(), fmt::format("thread {} did not stop within {} ms ({})", *late,
                                                          waited.count(), describe_thread_state(process_.pid(), *late)));
    }
    std::erase_if(threads_, [](const std::unique_ptr<Thread>& t) { return !t->seized(); });
    // Every thread we hold is stopped, so none of them can create another. If the
    // kernel counts no more live threads than we hold, nobody was born since the
    // listing and the directory need not be read again (with 1000 threads a listing
    // costs ~1 ms of the stop). Any other count (a newcomer, a thread exiting, a
    // leader that left with pthread_exit) takes the full path: list and compare.
    if (!threads_.empty() && process_.thread_count() == threads_.size()) break;
    if (pass > 10000) throw Error(ErrorKind::Target, fmt::format("process {}: threads keep appearing; cannot stop them all", process_.pid()));
  }
  if (threads_.empty()) throw Error(ErrorKind::Target, fmt::format("process {}: exited", process_.pid()));
}

AllThreadsStopped::~AllThreadsStopped() { release(); }

std::chrono::microseconds AllThreadsStopped::release() {
  if (released_) return holds_.longest().held;
  released_ = true;
  // In the order they were interrupted, so that each is held about as long as the
  // others: the first one stopped is the first one resumed.
  for (auto& t : threads_) {
    try {
      t->release();
    } catch (...) {
    }
  }
  priority_.restore();
  return holds_.longest().held;
}

}  // namespace hotpatch

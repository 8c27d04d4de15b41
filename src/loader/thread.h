// Thread: one thread of the target under ptrace (PTRACE_SEIZE, never ATTACH, so no
// SIGSTOP is sent). While seized it is ours; release() hands it back exactly as it
// was: registers restored, a syscall we interrupted with -EINTR re-run (unless a
// signal handler runs first, arch::restart_unless_signalled), a signal that arrived
// meanwhile delivered, a group-stop left in place.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "arch/arch.h"
#include "common/error.h"

namespace hotpatch {

class Process;

// The longest time one thread of the target was held by us, from the interrupt that
// stopped it to the detach that let it go, and which thread: the pause the program
// itself sees (a thread borrowed for remote calls is held for all of them).
struct LongestHold {
  std::chrono::microseconds held{0};
  pid_t tid = 0;
};

// While alive, takes in the hold of every thread of a target that Thread::release()
// lets go, in this process; longest() is the longest of them. Watches nest: each
// sees the holds that ended while it was alive.
class HoldWatch {
 public:
  HoldWatch();
  ~HoldWatch();
  HoldWatch(const HoldWatch&) = delete;
  HoldWatch& operator=(const HoldWatch&) = delete;
  const LongestHold& longest() const { return longest_; }
  // Called by Thread::release().
  static void note(pid_t tid, std::chrono::steady_clock::duration held);

 private:
  LongestHold longest_;
};

enum class StopKind {
  Interrupt,       // our PTRACE_INTERRUPT (PTRACE_EVENT_STOP with SIGTRAP)
  GroupStop,       // the process is stopped by SIGSTOP/SIGTSTP/...
  SignalDelivery,  // a signal arrived for the thread; it must be delivered on release
};

class Thread {
 public:
  explicit Thread(pid_t pid, pid_t tid) : pid_(pid), tid_(tid) {}
  ~Thread();  // releases if still seized
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;

  pid_t tid() const { return tid_; }

  // PTRACE_SEIZE + PTRACE_INTERRUPT. Returns false if the thread is gone (ESRCH):
  // threads come and go, that is not an error; so is a tid that, once seized, is not
  // a thread of the process (its thread exited and the number went to a new thread
  // elsewhere): that one is let go at once. Throws Error(Target) on EPERM (e.g.
  // another tracer is attached).
  bool seize_and_interrupt();
  // Waits for the stop caused by seize_and_interrupt(), until `deadline`. A thread
  // in uninterruptible sleep (D: a vfork parent, NFS/FUSE I/O, a frozen cgroup)
  // stops only when it leaves it, which may be never: Late says it has not stopped
  // yet. It stays seized with its interrupt pending; released or destroyed like
  // that, it is remembered, and let go as soon as its stop comes (settle_late()).
  enum class StopWait { Stopped, Gone, Late };
  StopWait wait_for_stop(std::chrono::steady_clock::time_point deadline);
  // The same within kDefaultStopWait; true if stopped (false: gone, or late).
  bool wait_for_stop() { return wait_for_stop(std::chrono::steady_clock::now() + kDefaultStopWait) == StopWait::Stopped; }
  static constexpr std::chrono::milliseconds kDefaultStopWait{250};
  // Lets go of every thread an earlier wait gave up on whose stop has come since
  // (detached as release() would), and forgets those that exited. Cheap when none.
  static void settle_late();
  bool seized() const { return seized_; }
  bool stopped() const { return stopped_; }
  StopKind stop_kind() const { return stop_kind_; }
  int pending_signal() const { return pending_signal_; }

  // Registers as they were at the stop (read once by wait_for_stop).
  const arch::Registers& registers() const { return regs_; }
  // Writes the registers the thread resumes with (PTRACE_SETREGS).
  void set_registers(const arch::Registers& regs);
  // The thread now holds `regs` (put back by the kernel, e.g. by rt_sigreturn):
  // what registers() answers and release() works from.
  void adopt_registers(const arch::Registers& regs) { regs_ = regs; }
  // The extended (x87/SSE/AVX...) state as PTRACE_GETREGSET gives it: NT_X86_XSTATE,
  // or NT_PRFPREG where the CPU has no XSAVE.
  std::vector<uint8_t> read_extended_state() const;
  void write_extended_state(const std::vector<uint8_t>& state);
  // The signals the thread blocks (PTRACE_GETSIGMASK).
  uint64_t blocked_signals() const;

  // Resumes the thread (PTRACE_CONT) delivering `signal` (0 for none).
  void resume(int signal);
  // Syscall stops (PTRACE_SYSCALL): each resume_to_syscall() runs the thread to the
  // next syscall entry or exit (or signal), reported as SIGTRAP|0x80
  // (PTRACE_O_TRACESYSGOOD, set by trace_syscalls(): with a plain SIGTRAP, a
  // tracer dying at a syscall stop would leave the thread a SIGTRAP to die of).
  void trace_syscalls();
  void resume_to_syscall(int signal);
  struct SyscallStop {
    bool entry = false;  // else exit
    int64_t number = -1; // at entry
    RemoteAddr pc;
    RemoteAddr sp;
  };
  // At a syscall stop, which one (PTRACE_GET_SYSCALL_INFO); nullopt at other stops.
  std::optional<SyscallStop> syscall_stop() const;
  // Waits for the next stop or exit; returns the raw waitpid status, or nullopt when
  // nothing happened before `deadline`.
  std::optional<int> wait_status(std::chrono::steady_clock::time_point deadline);
  // Reads the registers anew (after a stop during a remote call).
  arch::Registers read_registers() const;

  // Detach, with the fix-ups described at the top. Safe to call twice.
  void release();

 private:
  pid_t pid_;
  pid_t tid_;
  std::chrono::steady_clock::time_point interrupted_at_;  // its hold starts (HoldWatch)
  bool stranger_ = false;  // a tid that is not a thread of pid_: its hold is not the target's
  bool seized_ = false;
  bool stopped_ = false;
  bool regs_dirty_ = false;
  StopKind stop_kind_ = StopKind::Interrupt;
  int pending_signal_ = 0;
  arch::Registers regs_;
  mutable int extended_type_ = 0;  // the regset read_extended_state() found
};

// While the world is stopped, the calling thread runs SCHED_FIFO (best effort: kept
// as it is without CAP_SYS_NICE, or with HOTPATCH_STOP_PRIORITY=normal). Each
// PTRACE_INTERRUPT and PTRACE_DETACH wakes a target thread, and a woken CFS thread
// with sleeper credit preempts a CFS tracer on its CPU: with hundreds of threads the
// tracer spent more time waiting for its CPU than in ptrace (measured: 64 threads
// 5.9 -> 2.1 ms, 1000 threads 65 -> 27 ms per stop; docs/benchmarks.md).
class StopPriority {
 public:
  StopPriority();
  ~StopPriority() { restore(); }
  StopPriority(const StopPriority&) = delete;
  StopPriority& operator=(const StopPriority&) = delete;
  void restore();

 private:
  bool raised_ = false;
  int saved_policy_ = 0;
  int saved_priority_ = 0;
};

// While alive, SIGCHLD is blocked on the calling thread so that a wait with nothing
// to collect yet can sleep until any tracee reports (the kernel sends its tracer
// SIGCHLD for every stop and exit) instead of polling. Nests: only the outermost one
// changes the mask.
class TraceeNewsWait {
 public:
  TraceeNewsWait();
  ~TraceeNewsWait();
  TraceeNewsWait(const TraceeNewsWait&) = delete;
  TraceeNewsWait& operator=(const TraceeNewsWait&) = delete;
  // Sleeps until some tracee has news or `timeout` passes; false on timeout.
  static bool sleep(std::chrono::microseconds timeout);

 private:
  bool changed_mask_ = false;
};

// Thrown by AllThreadsStopped when some thread has not stopped by the deadline:
// every thread that did has been resumed. reason() says which thread and in what
// state ("thread 42 did not stop within 20 ms (state D: uninterruptible sleep, in
// wait_for_vfork_done)"); what() adds the process.
class ThreadsNotStopped : public Error {
 public:
  ThreadsNotStopped(pid_t pid, std::string reason);
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

// Every thread of the process stopped, for as short a window as possible: all are
// seized and interrupted first, then waited for, then we check that no thread was
// born meanwhile (the kernel's thread count, else /proc/PID/task read again) and
// seize any newcomer. The destructor (or release()) resumes them all.
// A thread in uninterruptible sleep (state D) that has not stopped by `patience`,
// or any thread not stopped by `deadline` (default: `patience`), ends the attempt:
// everyone else is resumed at once and ThreadsNotStopped thrown, so no thread is
// held waiting for one that cannot come. A thread that runs, or waits for a CPU on
// a loaded machine, is waited for until `deadline`: it stops once it gets a CPU.
class AllThreadsStopped {
 public:
  explicit AllThreadsStopped(Process& process,
                             std::chrono::steady_clock::time_point patience = std::chrono::steady_clock::now() +
                                                                              kDefaultDeadline,
                             std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);
  static constexpr std::chrono::seconds kDefaultDeadline{2};
  ~AllThreadsStopped();
  AllThreadsStopped(const AllThreadsStopped&) = delete;
  AllThreadsStopped& operator=(const AllThreadsStopped&) = delete;

  std::vector<std::unique_ptr<Thread>>& threads() { return threads_; }
  // Resumes everyone; returns the longest time one of them was held (interrupt to
  // detach), which longest_hold() names.
  std::chrono::microseconds release();
  const LongestHold& longest_hold() const { return holds_.longest(); }

 private:
  Process& process_;
  StopPriority priority_;  // first member: raised before the first seize, restored last
  HoldWatch holds_;        // the holds of this stop's threads
  TraceeNewsWait news_;    // SIGCHLD held for waking the waits of the whole stop
  std::vector<std::unique_ptr<Thread>> threads_;
  std::chrono::steady_clock::time_point first_interrupt_;
  bool released_ = false;
};

}  // namespace hotpatch

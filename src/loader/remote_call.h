// RemoteCall: runs functions of the target on one of its threads, the way a debugger
// does, but so that the target survives the CLI being killed at any moment.
//
// Each call returns through a signal frame built below the thread's red zone
// (arch::build_signal_frame): the called function's return address is code that
// does rt_sigreturn, and the frame holds the thread's registers, extended state and
// signal mask. With the CLI alive, the call is over at the rt_sigreturn syscall-entry
// stop: the result is read there, and the thread is put back by ptrace, the
// rt_sigreturn skipped (it would reset the restart block of a sleep the thread was
// stopped in, which would then fail with EINTR). To get there without stopping at every syscall of the call, the pad first
// sends its thread a notice signal the program ignores (pick_notice_signal): the
// thread runs under PTRACE_CONT and stops at the notice, which is swallowed, and
// only then under PTRACE_SYSCALL. Without such a signal, PTRACE_SYSCALL throughout. If the CLI dies (SIGKILL, OOM),
// the kernel detaches the thread wherever it is; the call runs to its end and the
// same rt_sigreturn takes the thread back to what it was doing. Nothing of ours is
// left on the thread, only a 4 KiB page holding the return pad (below).
//
// The return pad stores the result in the frame, then does rt_sigreturn; it lives
// in a page of ours mapped by the first call of a RemoteCall (which, having no pad
// yet, returns straight to libc's own signal restorer, __restore_rt, and whose result
// is read from /proc/PID/maps) and unmapped by the last.
//
// The other threads keep running meanwhile. That is deliberate: a thread stopped
// while holding the malloc or dynamic-loader lock would deadlock a remote dlopen;
// running threads release what they hold. The thread we borrow is picked at a
// point where it cannot hold those locks (see acquire_thread_for_calls).
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/remote_ptr.h"
#include "loader/thread.h"

namespace hotpatch {

class Process;
class TargetObjects;

class RemoteCall {
 public:
  // `thread` must be stopped; it stays ours until the RemoteCall is destroyed.
  // Throws Error(DoesNotFit) when the target's libc has no recognisable signal
  // restorer (then nothing was changed).
  RemoteCall(Process& process, Thread& thread, const TargetObjects& objects);
  // Unmaps the return pad; the thread is left stopped, holding its own registers.
  ~RemoteCall();
  RemoteCall(const RemoteCall&) = delete;
  RemoteCall& operator=(const RemoteCall&) = delete;

  // Copies bytes/a string into scratch space on the thread's stack for the next call.
  RemoteAddr push_string(const std::string& s);
  // Calls function(args...) and returns its integer result. `what` names the call in
  // errors ("dlopen(/x/fix.so)"). Waits as long as it takes (a call cannot be
  // abandoned half way: on SIGINT/SIGTERM it is left to finish on its own and
  // Error(Interrupted) thrown), and says so on stderr after `warn_after`. A fault inside
  // the call is not delivered: the thread is put back and Error(Internal) thrown; when
  // the call may hold a lock (a fault under libc, the dynamic loader, the unwinder or
  // an interposed allocator) no further call is made by this command.
  uint64_t call(RemoteAddr function, std::initializer_list<uint64_t> args, const std::string& what,
                std::chrono::milliseconds warn_after = std::chrono::milliseconds(5000));

  Thread& thread() { return thread_; }

 private:
  // One call returning to `return_to` (the pad, or libc's restorer when
  // `wants_result` is false), whose rt_sigreturn syscall ends at `sigreturn_pc`.
  uint64_t run(RemoteAddr function, const std::vector<uint64_t>& args, const std::string& what, RemoteAddr return_to,
               RemoteAddr sigreturn_pc, bool wants_result, std::chrono::milliseconds warn_after);
  // From the rt_sigreturn entry stop to its exit stop: the thread holds context_ again,
  // put back by ptrace, the rt_sigreturn itself skipped (it would reset the restart
  // block of a sleep the thread was stopped in).
  void finish_sigreturn(const std::string& what);
  // After a fault inside a call: the thread's own registers and state, by ptrace.
  void put_thread_back();
  // Why the faulted call may hold a lock (its pc, or a word of its frames below our
  // signal frame at `frame_start`, in libc, the dynamic loader, the unwinder or an
  // interposed allocator), or "" (a fault in the patch's own code).
  std::string fault_lock_risk(const arch::Registers& at_fault, RemoteAddr frame_start) const;
  void map_return_pad();

  Process& process_;
  Thread& thread_;
  const TargetObjects& objects_;
  arch::Registers context_;        // what the thread resumes with (arch::settle_interrupted_syscall)
  std::vector<uint8_t> extended_;  // its x87/SSE/AVX state
  uint64_t blocked_signals_ = 0;
  int notice_signal_ = 0;          // the pad's notice signal (pick_notice_signal), or 0
  RemoteAddr restorer_;            // libc's __restore_rt in the target
  RemoteAddr mmap_, munmap_;       // libc's, for the pad
  std::optional<RemoteAddr> pad_;
  bool thread_moved_ = false;      // a call ran: the thread's registers are context_
  bool abandoned_ = false;         // interrupted during a call: the thread finishes it alone
  RemoteAddr scratch_top_;         // below the red zone of the interrupted frame
  RemoteAddr scratch_next_;        // next free byte, growing down
};

// Picks a thread that can safely run libc and loader code now, and seizes it alone.
// Safe: stopped in a blocking syscall that is not part of memory management, not
// one that fork() makes while it holds malloc's locks, and not in libc's own lock
// code (waiting for or waking an internal lock); or running code outside libc
// and the dynamic loader; and in either case with neither its pc nor any word of its
// stack in an interposed allocator or the unwinder (locking_code.h), and with room
// for the call on its stack (64 KiB below its stack pointer, in the process's
// [stack] or in a thread stack with a guard page). Tries each
// thread, then waits a little and tries again, until `deadline`; throws Error(Busy)
// after that, Error(Interrupted) on SIGINT/SIGTERM (interruption.h).
std::unique_ptr<Thread> acquire_thread_for_calls(Process& process, const TargetObjects& objects,
                                                 std::chrono::steady_clock::time_point deadline);

}  // namespace hotpatch

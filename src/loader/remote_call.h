// RemoteCall: runs functions of the target on one of its threads, the way a debugger
// does: registers saved, a call frame built below the red zone with a return address
// that faults in a way only we watch for, registers restored afterwards.
//
// The other threads keep running meanwhile. That is deliberate: a thread stopped
// while holding the malloc or dynamic-loader lock would deadlock a remote dlopen;
// running threads release what they hold. The thread we borrow is picked at a
// point where it cannot hold those locks (see acquire_thread_for_calls).
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
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
  RemoteCall(Process& process, Thread& thread);
  ~RemoteCall();
  RemoteCall(const RemoteCall&) = delete;
  RemoteCall& operator=(const RemoteCall&) = delete;

  // Copies bytes/a string into scratch space on the thread's stack for the next call.
  RemoteAddr push_string(const std::string& s);
  // Calls function(args...) and returns its integer result. `what` names the call in
  // errors ("dlopen(/x/fix.so)"). Waits as long as it takes (abandoning a call half
  // way would leave the thread returning into nothing), and says so on stderr after
  // `warn_after`.
  uint64_t call(RemoteAddr function, std::initializer_list<uint64_t> args, const std::string& what,
                std::chrono::milliseconds warn_after = std::chrono::milliseconds(5000));

  Thread& thread() { return thread_; }

 private:
  Process& process_;
  Thread& thread_;
  RemoteAddr scratch_top_;   // below the red zone of the interrupted frame
  RemoteAddr scratch_next_;  // next free byte, growing down
};

// Picks a thread that can safely run libc and loader code now, and seizes it alone.
// Safe: stopped in a blocking syscall that is not part of memory management, not
// one that fork() makes while it holds malloc's locks, and not in libc's own lock
// code (waiting for or waking an internal lock); or running code outside libc
// and the dynamic loader. Tries each thread, then waits a
// little and tries again, until `deadline`; throws Error(Busy) after that.
std::unique_ptr<Thread> acquire_thread_for_calls(Process& process, const TargetObjects& objects,
                                                 std::chrono::steady_clock::time_point deadline);

}  // namespace hotpatch

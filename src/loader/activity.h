// ThreadActivity: what every stopped thread is executing, seen once per stop: its pc
// and every word of its stack. "Is this code in use?" is asked against it for the
// functions being replaced (apply/revert) and for the bytes being rewritten
// (write-code, on behalf of the cooperative runtime).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "arch/arch.h"
#include "common/remote_ptr.h"
#include "loader/address_space.h"

namespace hotpatch {

class Process;
class AllThreadsStopped;

// A range of code that must not be executing when the world is stopped.
struct GuardedRange {
  RemoteRange range;
  std::string what;  // "function 'compute'"
  // The range is a whole function: a stack word equal to its first byte is a pointer
  // to it (a callback, a std::function's invoker), not a return address into it (a
  // return address is the byte after a call, inside the calling function).
  bool function_start = false;
};

class ThreadActivity {
 public:
  // Notes every thread's pc and where its stack is; the stacks themselves are read
  // by the questions below. `space` is the address space read before the stop
  // (reading maps inside it would lengthen it); it is read again only when a
  // thread's stack is not in it (a thread born since).
  ThreadActivity(Process& process, AllThreadsStopped& world, std::optional<AddressSpace>& space);

  // What the scan needs to know of the target besides its threads, found before a
  // stop so that the stop does not pay for it: where libc's signal restorer is (the
  // return address of every signal handler's frame). The constructor finds it
  // itself when this was not called. Kept for the life of the CLI.
  static void prepare(const Process& process, const AddressSpace& space);

  // The first range that is live, described: a thread's pc in it, or any stack word
  // pointing into it (a conservative scan: no false negatives on x86_64; a stale word
  // can make code look busy). A thread whose stack cannot be located makes every
  // range live: we cannot prove it is not. `ignored` (if not 0) is a thread known to
  // run none of the guarded code: the one waiting for us in the runtime, whose stack
  // holds the very addresses we were asked about.
  // Signal frames are followed: a word that is the signal restorer's address is the
  // return address of a handler's frame, whose saved context holds the interrupted
  // pc (checked as a pc) and stack pointer; a handler on an alternate signal stack
  // (sigaltstack) interrupted code whose frames are on the thread's normal stack,
  // which is then scanned from that stack pointer too, and so on for nested signals.
  std::optional<std::string> find_active(const std::vector<GuardedRange>& guarded, pid_t ignored = 0) const;

  // The same for several independent questions, answered in one pass over the stacks
  // (each answer as find_active would give it).
  std::vector<std::optional<std::string>> find_active_each(const std::vector<std::vector<GuardedRange>>& questions,
                                                           pid_t ignored = 0) const;

 private:
  struct View {
    pid_t tid = 0;
    RemoteAddr pc;
    RemoteAddr sp;
    RemoteAddr stack_end;  // end of the mapping sp is in (capped): the words scanned are [sp, stack_end)
    arch::Registers regs;  // where its frames end on another stack of its (stack_frames_end)
  };
  Process& process_;
  const std::optional<AddressSpace>& space_;
  std::vector<View> threads_;
  std::vector<RemoteAddr> signal_returns_;  // sorted
  std::optional<std::string> unreadable_;
};

}  // namespace hotpatch

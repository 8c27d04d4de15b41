// LockingCode: code outside libc and the dynamic loader whose locks our remote calls
// need, so that a thread stopped inside it must not run them:
//
// - The memory allocator, when it is not glibc's: a malloc interposed by LD_PRELOAD
//   (jemalloc, tcmalloc, mimalloc) or linked into the program without a prefix.
//   Whatever defines the global `malloc` the dynamic loader binds to serves every
//   allocation in the process, dlopen's included; every object but libc that
//   exports a malloc is counted (main program first, then each such library). Its locks are not recursive: a
//   remote dlopen on a thread stopped inside it, holding one, waits for that thread
//   itself, forever.
// - The unwinder (libgcc_s.so.1): __register_frame, called for near-linked patches
//   and register-preserving stubs, takes the lock _Unwind_Find_FDE holds while it
//   searches (and while it waits for the loader's lock in dl_iterate_phdr).
//
// A thread is inside such code when its pc, or any word of its stack, points into it
// (a lock is held by a frame of that code, so the code is on the stack). The scan is
// conservative: a stale word makes a thread look inside, and another one is used.
//
// Bounds: a shared object is locking code as a whole. When the program itself
// defines malloc (a static libjemalloc), its allocator is the code reachable from
// the allocation functions (malloc, free, calloc, realloc, the aligned variants,
// operator new/delete) through direct calls and jumps, function by function as the
// symbol table sizes them: every lock the allocator takes is taken in that code.
// Code it reaches only through pointers (user-installed hooks) is not counted. If
// that code cannot be decoded, the whole program counts (then most threads look
// inside, and an apply may end "busy": never a hang). glibc's own malloc needs none
// of this: its lock code is recognised by acquire_thread_for_calls (remote_call.h).
#pragma once

#include <string>
#include <vector>

#include "common/remote_ptr.h"

namespace hotpatch {

class AddressSpace;
class Process;
class TargetObjects;
class Thread;

class LockingCode {
 public:
  static LockingCode find(const TargetObjects& objects);

  // What is covered, for messages and tests: "allocator /usr/lib/.../libjemalloc.so.2".
  std::vector<std::string> describe() const;
  // The first object other than libc that exports malloc, or "" (glibc's malloc).
  const std::string& allocator() const { return allocator_; }

  // Why `thread` (stopped) may be inside locking code, or "" if it is not: its pc,
  // or a word of its stack from sp to the end of sp's mapping in `space`.
  std::string inside(const Process& process, const Thread& thread, const AddressSpace& space) const;
  // What locking code `addr` is in ("the allocator (PATH)"), or "".
  std::string code_at(RemoteAddr addr) const;

 private:
  struct Part {
    std::string what;                  // "the allocator (PATH)"
    std::vector<RemoteRange> ranges;   // sorted, disjoint
  };
  const Part* part_containing(RemoteAddr addr) const;

  std::vector<Part> parts_;
  std::string allocator_;
};

}  // namespace hotpatch

// Process: a target process seen from outside: its threads, its memory through
// /proc/PID/mem (which writes through page protections, unlike process_vm_writev),
// its maps. Holding a Process does not stop or trace anything.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/remote_ptr.h"
#include "loader/address_space.h"

namespace hotpatch {

class Process {
 public:
  // Checks the process exists, is not a zombie, and that we may trace it; opens its
  // memory. Throws Error(Target) with "process PID: ..." otherwise.
  explicit Process(pid_t pid);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // The thread ids in /proc/PID/task right now (the main thread first). A leader that
  // exited with pthread_exit() stays listed (a zombie): seizing it fails, and callers
  // treat that as "gone", as for any thread that exits meanwhile.
  std::vector<pid_t> thread_ids() const;
  // A thread in uninterruptible sleep (state D) right now, if any: it cannot stop
  // for ptrace until it leaves it, so stopping the others now would hold them for
  // nothing. One small read per thread, before any stop.
  std::optional<pid_t> thread_in_uninterruptible_sleep() const;
  // How many threads the kernel counts in the process (num_threads of /proc/PID/stat,
  // one small read: cheaper than listing /proc/PID/task), or nullopt if unreadable.
  std::optional<size_t> thread_count() const;
  AddressSpace address_space() const;
  // Exists, with a live thread, still running the program we opened (an execve
  // replaces everything we knew about it: that counts as gone).
  bool alive() const;
  bool replaced_by_exec() const;
  // /proc/PID/exe, resolved.
  std::string executable_path() const;
  // A path under which we can open a file the target names (its root may differ).
  std::string path_in_target_root(const std::string& path) const;
  // /proc/PID/map_files/START-END: the file mapped at exactly `range` (a mapping as
  // /proc/PID/maps lists it), whatever its path names now (opening it needs
  // CAP_SYS_ADMIN).
  std::string mapped_file_path(const RemoteRange& range) const;
  // /proc/PID/fd/N for a descriptor the target holds open on the file with this
  // device ("MAJ:MIN" in hex, as the maps show it) and inode, or "" if none. For a
  // mapping whose file has no path (a memfd: `lib load` keeps its descriptor open),
  // when map_files is not allowed; opening it needs only the right to read the
  // target's /proc (same uid), not CAP_SYS_ADMIN.
  std::string open_file_path(const std::string& device, uint64_t inode) const;

  void read(RemoteAddr addr, void* out, size_t len) const;
  std::vector<uint8_t> read_bytes(RemoteAddr addr, size_t len) const;
  // Reads as much of [addr, addr+len) as is readable; returns the bytes read.
  size_t read_partial(RemoteAddr addr, void* out, size_t len) const;
  // Many read_partial()s at once, for every thread's stack inside the stop: one
  // process_vm_readv per 1024 ranges instead of one pread each (measured: 64 stacks
  // 320 -> 30 us, 1000 stacks 5.2 -> 1.8 ms). Each request's `got` is set as
  // read_partial() would return it (what it cannot read is retried through
  // /proc/PID/mem, which reads some mappings process_vm_readv refuses).
  struct ReadRequest {
    RemoteAddr addr;
    void* out = nullptr;
    size_t len = 0;
    size_t got = 0;
  };
  void read_many(std::span<ReadRequest> requests) const;
  std::string read_cstring(RemoteAddr addr, size_t max_len = 4096) const;
  uint64_t read_u64(RemoteAddr addr) const;
  void write(RemoteAddr addr, const void* data, size_t len) const;
  // Several writes to WRITABLE memory (data, not code) in one process_vm_writev, in
  // order: inside the stop one syscall costs as much as the copy. Falls back to
  // write() one by one (still in order) if the kernel refuses the batch.
  struct WriteRequest {
    RemoteAddr addr;
    const void* data = nullptr;
    size_t len = 0;
  };
  void write_many(std::span<const WriteRequest> requests) const;
  void write_bytes(RemoteAddr addr, const std::vector<uint8_t>& bytes) const { write(addr, bytes.data(), bytes.size()); }
  void write_u64(RemoteAddr addr, uint64_t value) const { write(addr, &value, sizeof value); }

 private:
  // Where the process's maps, mem, exe and root are read: /proc/PID, or, when the
  // leader has exited (pthread_exit) and its mm is gone, a live thread's
  // /proc/PID/task/TID, which shares the same memory.
  std::string proc_dir_;
  pid_t pid_;
  pid_t memory_tid_;  // the thread whose /proc entry proc_dir_ is (pid_ unless the leader exited)
  int mem_fd_ = -1;
  RemoteAddr vdso_;  // see replaced_by_exec()
};

// The state letter of /proc/PID/stat (R, S, D, T, t, Z, X), or 0 if gone; with a
// tid, of that thread.
char process_state(pid_t pid);
char thread_state(pid_t pid, pid_t tid);
// For messages: "state D: uninterruptible sleep, in wait_for_vfork_done" (the
// kernel function it waits in, when /proc shows it), or "gone".
std::string describe_thread_state(pid_t pid, pid_t tid);

// PID namespaces (a container's program, `unshare --pid`): the target calls itself
// and its threads by ids of its own namespace (getpid(), gettid()), which is what it
// writes into its registry and names its control socket after; ptrace and /proc
// here use ours. The id of thread TID of process PID inside its own namespace (the
// last field of NSpid in its /proc status; TID itself when it shares ours), or
// nullopt if it is gone.
std::optional<pid_t> id_in_own_namespace(pid_t pid, pid_t tid);
// The thread of process PID whose id in its own namespace is `own_id`, by our id;
// nullopt if it has none (the holder of that id is gone).
std::optional<pid_t> thread_with_own_id(pid_t pid, pid_t own_id);
// Throws Error(Target) if the /proc mounted here is another PID namespace's than
// ours (`unshare --pid` without --mount-proc, a container given the host's /proc):
// the pids read from it would not be the ones ptrace and kill() use, and a pid given
// to us would name another process in each.
void check_proc_is_ours();

// A thread's signal masks as /proc/PID/task/TID/status shows them (bit N-1 for
// signal N); nullopt if the thread is gone. Read with one read() into a stack
// buffer: it runs inside stops.
struct SignalMasks {
  uint64_t pending = 0;         // SigPnd: sent to this thread
  uint64_t shared_pending = 0;  // ShdPnd: sent to the process
  uint64_t blocked = 0;         // SigBlk
  uint64_t ignored = 0;         // SigIgn (process-wide dispositions)
  uint64_t caught = 0;          // SigCgt: a handler is installed
};
std::optional<SignalMasks> signal_masks(pid_t pid, pid_t tid);
constexpr uint64_t signal_bit(int sig) { return uint64_t{1} << (sig - 1); }

}  // namespace hotpatch

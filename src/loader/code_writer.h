// CodeWriter: rewrites a few bytes of a process's code with every thread stopped,
// once none of them executes the bytes being replaced. The Patcher has this built in;
// this is the same operation offered to the cooperative runtime, which cannot stop
// its own threads: `func upgrade` runs `hotpatch write-code` on its own process
// (docs/cooperative.md, "How the jump is written").
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "loader/activity.h"

namespace hotpatch {

class Process;

struct CodeWriteRequest {
  RemoteAddr at;
  std::vector<uint8_t> expected;  // what must be there (checked inside the stop)
  std::vector<uint8_t> bytes;     // what to write (same length)
  // Code no thread may be executing or return into when the bytes change.
  std::vector<GuardedRange> guarded;
  // Ranges the caller wants to know about: is any thread in them at the moment of
  // the write? (e.g. a stub page it may unmap once no thread can be inside it)
  std::vector<RemoteRange> probes;
  // A thread of the process that waits for this write and runs none of that code (the
  // runtime's, which asked for it): its stack is not scanned. 0 for none.
  pid_t waiting_thread = 0;
};

struct CodeWriteReport {
  size_t threads = 0;
  int attempts = 0;
  std::chrono::microseconds pause{0};
  std::vector<std::string> probe_users;  // per probe: "" when unused, else who uses it
};

class CodeWriter {
 public:
  explicit CodeWriter(Process& process) : process_(process) {}
  // Retries while a guarded range is active, until `timeout` (then Error(Busy)).
  // Error(Conflict) if the bytes are not `expected`; nothing is written then. With no
  // bytes at all, only the probes are answered.
  CodeWriteReport write(const CodeWriteRequest& request, std::chrono::milliseconds timeout);

 private:
  Process& process_;
};

}  // namespace hotpatch

// ProgramStart: a process that has just run execve(), held at its program's entry
// point so that a patch goes in before any of the program's code runs.
//
// The kernel's exec event arrives while the dynamic loader (ld.so) is still mapping
// and relocating libraries. We seize the main thread (PTRACE_SEIZE: no signal the
// program could see), and if it has not reached the entry point (AT_ENTRY) yet, we
// write a jump-to-itself over the entry's first bytes and let ld.so finish: polling
// with PTRACE_INTERRUPT until the thread sits in that loop. Then we detach: it spins
// there, having run nothing of the program, with every library mapped and libc
// initialised, until release() puts the entry's bytes back. In between, the patch is
// applied as to any running process (the spinning thread runs no code of libc or
// ld.so, so it is a safe thread to load the patch on).
//
// Why a loop and not a breakpoint: a tracer killed while an int3 sits at the entry
// leaves a program that dies of SIGTRAP; a loop left behind is found and undone
// when the agent starts again (recover(): every park is recorded in a file first).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/remote_ptr.h"

namespace hotpatch::ops {

class ProgramStart {
 public:
  enum class State {
    Parked,   // spinning at the entry point, untraced; nothing of the program ran
    Running,  // left as it was: already past its entry, or we may not hold it (detail())
    Gone,     // exited (or ran another execve) meanwhile
  };

  // Holds process `pid` at its entry point if it has not reached it yet, waiting at
  // most `timeout` for ld.so to finish. `record_dir`: where the park is recorded
  // (one file per parked pid) until release().
  ProgramStart(pid_t pid, std::chrono::milliseconds timeout, std::string record_dir);
  ~ProgramStart();  // release()
  ProgramStart(const ProgramStart&) = delete;
  ProgramStart& operator=(const ProgramStart&) = delete;

  State state() const { return state_; }
  const std::string& detail() const { return detail_; }
  RemoteAddr entry() const { return entry_; }
  // Puts the entry's bytes back: the program starts. Safe to call twice.
  void release();

  // Undoes the parks recorded in `record_dir` by an agent that died before releasing
  // them (only those of processes that are still the same process). Returns the
  // pids it let go.
  static std::vector<pid_t> recover(const std::string& record_dir);

 private:
  void park(std::chrono::steady_clock::time_point deadline);
  std::string record_path() const;

  pid_t pid_;
  std::string record_dir_;
  State state_ = State::Running;
  std::string detail_;
  RemoteAddr entry_;
  uint64_t start_time_ = 0;        // starttime in /proc/PID/stat: tells a reused pid apart
  std::vector<uint8_t> original_;  // the entry's bytes under the loop
  bool seized_ = false;
};

}  // namespace hotpatch::ops

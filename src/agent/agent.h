// `hotpatch agent`: keeps installed patches on programs across restarts. It watches
// every execve() on the machine (ProcEvents) and applies each installed patch
// (PatchStore) whose build-id matches the new process's program, or a library it
// maps (a patch with HOTPATCH_OBJECT), before the program's first instruction runs
// when it can (ProgramStart). docs/agent.md.
#pragma once

#include <chrono>
#include <string>

namespace hotpatch::ops {

struct AgentOptions {
  std::string patch_dir;                 // the PatchStore's directory
  std::string run_dir = "/run/hotpatch";  // agent.pid (one agent per run dir) and parked/
  enum class LogTo { Auto, Stderr, Syslog } log_to = LogTo::Auto;
  std::chrono::milliseconds apply_timeout{5000};  // apply's --timeout
  std::chrono::milliseconds hold_timeout{5000};   // how long ld.so may take to reach the entry
  bool verbose = false;                           // also log the processes it ignores
};

// Runs until SIGTERM or SIGINT (SIGHUP re-reads the patches, as does any change to
// the directory). Throws Error for what stops it from starting (no CAP_NET_ADMIN,
// another agent on the run dir, an untrusted patch directory).
void run_agent(const AgentOptions& opts);

}  // namespace hotpatch::ops

// Starting the cooperative control server inside a process that runs without it
// (`hotpatch -p PID inject`): through the Loader, dlopen libhotpatch.so into it if it
// is not loaded yet, then call hotpatch_init_server() on one borrowed thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

namespace hotpatch {

struct InjectReport {
  std::string runtime_path;  // the libhotpatch.so the process uses
  bool loaded_now = false;   // false: it was already loaded (linked, preloaded, or an earlier apply)
};

// Throws hotpatch::Error: Target (no such process), DoesNotFit (no libc, dlopen
// failed), Refused (the runtime could not start its server, with its reason).
InjectReport inject_control_server(pid_t pid, std::chrono::milliseconds timeout);

}  // namespace hotpatch

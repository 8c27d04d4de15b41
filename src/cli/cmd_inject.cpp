// `hotpatch -p PID inject`: start the control server in a running process through
// the Loader (loads libhotpatch.so if needed, calls hotpatch_init_server()).
#include <chrono>
#include <thread>

#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/control_client.h"
#include "common/error.h"
#include "loader/injector.h"

namespace hotpatch::cli {

int cmd_inject(int pid, int timeout_ms, Output& out) {
  InjectReport report = inject_control_server(pid, std::chrono::milliseconds(timeout_ms));
  // The server thread creates the socket before hotpatch_init_server returns; look
  // it up the way every later command will.
  auto path = find_control_socket(pid);
  if (!path)
    throw Error(ErrorKind::NoControlServer,
                fmt::format("process {}: the control server started but its socket is not where clients look", pid));
  if (out.json) {
    out.doc["pid"] = pid;
    out.doc["socket"] = *path;
    out.doc["runtime"] = report.runtime_path;
    out.doc["loaded_runtime"] = report.loaded_now;
  } else {
    fmt::print("control server running in process {}: {}{}\n", pid, *path,
               report.loaded_now ? fmt::format(" (loaded {})", report.runtime_path) : std::string());
  }
  return 0;
}

}  // namespace hotpatch::cli

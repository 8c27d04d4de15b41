// ControlClient: the CLI's side of a process's control socket (docs/cooperative.md).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace hotpatch::cli {

// Where the control socket of `pid` is, if it has one: the places its runtime may
// have used (its XDG_RUNTIME_DIR from /proc/PID/environ, its uid), in order.
std::optional<std::string> find_control_socket(pid_t pid, std::vector<std::string>* looked_at = nullptr);

struct ControlAnswer {
  std::vector<std::string> body;  // lines before the final one
  bool ok = false;
  std::string error;              // after "ERR "
};

// Sends one command line and reads the reply up to its OK/ERR line. Throws
// Error(NoControlServer) when nothing listens, Error(Target) on a broken reply.
ControlAnswer send_control_command(pid_t pid, const std::string& socket_path, const std::string& line);

}  // namespace hotpatch::cli

// Where a process's control socket lives (docs/cooperative.md). Shared by the Core
// Runtime, which creates it, and the CLI, which looks for it from outside.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hotpatch::control {

// The directory the runtime of a process running as `uid`, with XDG_RUNTIME_DIR =
// `xdg_runtime_dir` (null or empty when unset), puts its socket in:
// $XDG_RUNTIME_DIR/hotpatch, else /run/hotpatch for root, else /tmp/hotpatch-UID.
std::string socket_directory(uid_t uid, const char* xdg_runtime_dir);
std::string socket_path(pid_t pid, uid_t uid, const char* xdg_runtime_dir);

// Every place a client should look, most likely first (the runtime may have had
// another XDG_RUNTIME_DIR than the client sees).
std::vector<std::string> candidate_socket_paths(pid_t pid, uid_t uid, const char* xdg_runtime_dir);

}  // namespace hotpatch::control

#include "common/control_socket_path.h"

namespace hotpatch::control {

std::string socket_directory(uid_t uid, const char* xdg_runtime_dir) {
  if (xdg_runtime_dir && xdg_runtime_dir[0] == '/') return std::string(xdg_runtime_dir) + "/hotpatch";
  if (uid == 0) return "/run/hotpatch";
  return "/tmp/hotpatch-" + std::to_string(uid);
}

std::string socket_path(pid_t pid, uid_t uid, const char* xdg_runtime_dir) {
  return socket_directory(uid, xdg_runtime_dir) + "/" + std::to_string(pid) + ".sock";
}

std::vector<std::string> candidate_socket_paths(pid_t pid, uid_t uid, const char* xdg_runtime_dir) {
  std::vector<std::string> out;
  auto add = [&](const std::string& p) {
    for (const auto& q : out)
      if (q == p) return;
    out.push_back(p);
  };
  add(socket_path(pid, uid, xdg_runtime_dir));
  add(socket_path(pid, uid, nullptr));
  return out;
}

}  // namespace hotpatch::control

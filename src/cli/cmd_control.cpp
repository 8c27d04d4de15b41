// `hotpatch -p PID gflags|glog|var|lib|func ...`: one line to the process's control
// socket; its reply printed without the final OK line. ERR -> exit 8 (Refused),
// ERR policy: ... -> exit 11 (Untrusted).
#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/control_client.h"
#include "common/control_protocol.h"
#include "common/error.h"

namespace hotpatch::cli {

namespace {

std::string socket_or_throw(int pid) {
  std::vector<std::string> looked_at;
  auto path = find_control_socket(pid, &looked_at);
  if (!path) {
    std::string where;
    for (const auto& p : looked_at) where += (where.empty() ? "" : ", ") + p;
    throw Error(ErrorKind::NoControlServer,
                fmt::format("process {} runs no hotpatch control server (no socket at {}); start one with `hotpatch -p {} "
                            "inject`, or run it with LD_PRELOAD=.../libhotpatch_preload.so",
                            pid, where, pid));
  }
  return *path;
}

}  // namespace

int cmd_control(const ControlOptions& opts, Output& out) {
  std::string line = opts.group;
  for (const auto& w : opts.words) line += " " + control::quote_word(w);
  std::string path = socket_or_throw(opts.pid);
  ControlAnswer answer = send_control_command(opts.pid, path, line);
  if (out.json) {
    out.doc["pid"] = opts.pid;
    out.doc["command"] = line;
    out.doc["lines"] = answer.body;
  } else {
    for (const auto& l : answer.body) fmt::print("{}\n", l);
  }
  // "ERR policy: ..." is the trust policy's refusal (runtime/code_loading.h): exit 11, as for apply.
  if (!answer.ok)
    throw Error(answer.error.rfind("policy: ", 0) == 0 ? ErrorKind::Untrusted : ErrorKind::Refused,
                fmt::format("process {}: {}", opts.pid, answer.error));
  return 0;
}

int cmd_socket(int pid, Output& out) {
  std::string path = socket_or_throw(pid);
  if (out.json) {
    out.doc["pid"] = pid;
    out.doc["socket"] = path;
  } else {
    fmt::print("{}\n", path);
  }
  return 0;
}

}  // namespace hotpatch::cli

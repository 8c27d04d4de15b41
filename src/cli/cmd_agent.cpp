// `hotpatch agent` (docs/agent.md) and the patch store it reads: `install-patch`,
// `remove-patch`, `patches`.
#include <fmt/core.h>

#include "agent/agent.h"
#include "agent/patch_store.h"
#include "agent/patch_trust.h"
#include "cli/commands.h"
#include "common/error.h"

namespace hotpatch::cli {

namespace {

nlohmann::json stored_json(const PatchFile& p) {
  return {{"id", p.id},
          {"path", p.path},
          {"description", p.description},
          {"build_id", p.build_id ? nlohmann::json(*p.build_id) : nlohmann::json(nullptr)},
          {"object", p.object ? nlohmann::json(*p.object) : nlohmann::json(nullptr)}};
}

std::string stored_line(const PatchFile& p) {
  return fmt::format("{}  build-id {}{}  {}{}", p.id, p.build_id.value_or("none"), p.object ? " (" + *p.object + ")" : "",
                     p.path, p.description.empty() ? "" : "\n  description: " + p.description);
}

}  // namespace

int cmd_agent(const AgentCommand& opts, Output& out) {
  ops::AgentOptions o;
  o.patch_dir = opts.patch_dir;
  o.run_dir = opts.run_dir;
  if (opts.log == "stderr") o.log_to = ops::AgentOptions::LogTo::Stderr;
  else if (opts.log == "syslog") o.log_to = ops::AgentOptions::LogTo::Syslog;
  else if (opts.log != "auto") throw Error(ErrorKind::Usage, fmt::format("--log: '{}' is not auto, stderr or syslog", opts.log));
  o.apply_timeout = std::chrono::milliseconds(opts.timeout_ms);
  o.hold_timeout = std::chrono::milliseconds(opts.hold_timeout_ms);
  o.verbose = opts.verbose;
  ops::set_audit_identifier("hotpatch-agent");
  ops::run_agent(o);
  out.doc["stopped"] = true;
  return 0;
}

int cmd_install_patch(const std::string& patch_dir, const std::string& file, Output& out) {
  ops::PatchStore store(patch_dir);
  bool replaced = false;
  PatchFile p = store.install(file, replaced);
  if (out.json) {
    out.doc["installed"] = stored_json(p);
    out.doc["replaced"] = replaced;
  } else if (!out.quiet) {
    fmt::print("installed {}{}: {}\n", p.id, replaced ? " (replacing the one installed)" : "", p.path);
    fmt::print("note: the agent applies it to the processes that start from now on; to those running: hotpatch -p all "
               "apply {}\n", p.path);
  }
  return 0;
}

int cmd_remove_patch(const std::string& patch_dir, const std::string& id, Output& out) {
  ops::PatchStore(patch_dir).remove(id);
  if (out.json) out.doc["removed"] = id;
  else if (!out.quiet) fmt::print("removed {} (processes that have it applied keep it: revert it there)\n", id);
  return 0;
}

int cmd_patches(const std::string& patch_dir, Output& out) {
  std::vector<std::string> problems;
  auto patches = ops::PatchStore(patch_dir).patches(&problems);
  for (const auto& p : problems) fmt::print(stderr, "hotpatch: warning: {}\n", p);
  if (out.json) {
    out.doc["dir"] = patch_dir;
    out.doc["patches"] = nlohmann::json::array();
    for (const auto& p : patches) out.doc["patches"].push_back(stored_json(p));
  } else if (!out.quiet) {
    if (patches.empty()) fmt::print("no patches installed in {}\n", patch_dir);
    for (const auto& p : patches) fmt::print("{}\n", stored_line(p));
  }
  return 0;
}

}  // namespace hotpatch::cli

// `hotpatch TARGETS revert ID|--all`: one result and one audit record per process.
#include <fmt/core.h>

#include "agent/patch_trust.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "loader/patcher.h"

namespace hotpatch::cli {

namespace {

ProcessResult revert_one_process(pid_t pid, const RevertOptions& opts, std::chrono::milliseconds timeout, bool by_number) {
  Patcher patcher(pid);
  ProcessResult r;
  std::vector<RevertReport> reports;
  if (opts.all) {
    reports = patcher.revert_all(timeout);
  } else {
    if (!by_number) {
      patcher.finish_interrupted(timeout);
      if (!patcher.applied().find(opts.id)) {
        r.status = "not-applied";
        r.lines.push_back(fmt::format("not applied: {}", opts.id));
        r.json["reverted"] = nlohmann::json::array();
        return r;
      }
    }
    reports.push_back(patcher.revert(opts.id, timeout));
  }
  r.status = "reverted";
  r.json["reverted"] = nlohmann::json::array();
  for (const auto& rep : reports) {
    auto j = stop_json(rep);
    j["id"] = rep.id;
    r.json["reverted"].push_back(j);
    r.lines.push_back(fmt::format("reverted {}: {}", rep.id, stop_summary(rep)));
  }
  if (reports.empty()) r.lines.push_back("nothing to revert");
  return r;
}

}  // namespace

int cmd_revert(const Targets& targets, const RevertOptions& opts, Output& out) {
  auto pids = select_processes(targets.selection, Purpose::Inspect, nullptr);
  const auto timeout = std::chrono::milliseconds(opts.timeout_ms);
  // A process picked by program or by `all` that lacks the patch has nothing to
  // revert: that is not an error (revert there is idempotent). A pid given by
  // number must have it (exit 7 otherwise), as it always had to.
  const bool by_number = targets.selection.kind == Selection::Kind::Single || targets.selection.kind == Selection::Kind::List;
  return run_on_processes(targets.selection, pids, {"revert", targets.keep_going}, out, [&](pid_t pid) {
    // Every revert leaves an audit record (docs/security.md), a failed one too.
    trust::AuditEvent event = ops::patch_event("revert", nullptr);
    ops::describe_target(event, pid);
    try {
      ProcessResult r = revert_one_process(pid, opts, timeout, by_number);
      for (const auto& rep : r.json["reverted"]) {
        trust::AuditEvent done = event;
        done.result = "ok";
        done.patch_id = rep["id"].get<std::string>();
        done.pause_us = rep["pause_us"].get<long long>();
        ops::audit(done);
      }
      return r;
    } catch (const std::exception& e) {
      event.result = "failed";
      event.patch_id = opts.all ? "" : opts.id;
      event.error = e.what();
      ops::audit(event);
      throw;
    }
  });
}


}  // namespace hotpatch::cli

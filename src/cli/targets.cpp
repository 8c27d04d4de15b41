#include "cli/targets.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "agent/proc_scan.h"
#include "cli/commands.h"
#include "common/verbose.h"
#include "common/error.h"
#include "elf/patch_file.h"

namespace hotpatch::cli {

namespace {

constexpr long kMaxPid = 4194304;  // PID_MAX_LIMIT on 64-bit

pid_t parse_pid(const std::string& text) {
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != 0 || v < 1 || v > kMaxPid || text[0] == '+' || text[0] == ' ')
    throw Error(ErrorKind::Usage, fmt::format("-p: '{}' is not a process id (1 to {}), a comma-separated list of them, "
                                              "or 'all'", text, kMaxPid));
  return static_cast<pid_t>(v);
}

// Whether process PID maps a file with this build-id: its program, or, for a patch
// pinned to a library (HOTPATCH_OBJECT), any file it maps. As apply checks it.
bool maps_build_id(pid_t pid, const PatchFile& patch, ops::BuildIdCache& ids) {
  if (!patch.object) return ids.of_program(pid) == patch.build_id;
  for (const auto& f : ops::mapped_files(pid))
    if (ids.of_mapped(pid, f) == patch.build_id) return true;
  return false;
}

// A signal main() deferred while we work (Ctrl-C, SIGTERM, a hang-up) is pending:
// no next process is started; main() lets the signal act once the results are out.
std::optional<int> stop_signal() {
  sigset_t pending;
  if (::sigpending(&pending) != 0) return std::nullopt;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT})
    if (::sigismember(&pending, sig) == 1) return sig;
  return std::nullopt;
}

std::string failure_message(pid_t pid, const std::string& what) {
  std::string prefix = fmt::format("process {}", pid);
  return what.starts_with(prefix) ? what : prefix + ": " + what;
}

}  // namespace

Selection parse_selection(const std::string& pid_text, const std::string& exe) {
  Selection sel;
  if (!pid_text.empty() && !exe.empty()) throw Error(ErrorKind::Usage, "give either -p or --exe, not both");
  if (!exe.empty()) {
    sel.kind = Selection::Kind::Exe;
    sel.exe = exe;
    return sel;
  }
  if (pid_text.empty()) return sel;
  if (pid_text == "all") {
    sel.kind = Selection::Kind::All;
    return sel;
  }
  size_t pos = 0;
  while (pos <= pid_text.size()) {
    size_t comma = pid_text.find(',', pos);
    if (comma == std::string::npos) comma = pid_text.size();
    pid_t pid = parse_pid(pid_text.substr(pos, comma - pos));
    if (std::find(sel.pids.begin(), sel.pids.end(), pid) != sel.pids.end())
      throw Error(ErrorKind::Usage, fmt::format("-p: process {} is given twice", pid));
    sel.pids.push_back(pid);
    pos = comma + 1;
  }
  sel.kind = sel.pids.size() == 1 ? Selection::Kind::Single : Selection::Kind::List;
  return sel;
}

std::vector<pid_t> select_processes(const Selection& sel, Purpose purpose, const PatchFile* patch) {
  std::vector<pid_t> pids;
  switch (sel.kind) {
    case Selection::Kind::None:
      throw Error(ErrorKind::Usage, "this command needs -p PID[,PID...], -p all or --exe PATH");
    case Selection::Kind::Single:
    case Selection::Kind::List:
      return sel.pids;
    case Selection::Kind::Exe: {
      auto want = ops::file_id(sel.exe);
      if (!want) throw Error(ErrorKind::Usage, errno_message(fmt::format("--exe {}", sel.exe), errno));
      for (pid_t pid : ops::all_processes())
        if (ops::exe_id(pid) == want) pids.push_back(pid);
      if (pids.empty()) throw Error(ErrorKind::Target, fmt::format("no process runs {} (that we may see)", sel.exe));
      return pids;
    }
    case Selection::Kind::All: {
      if (purpose == Purpose::Inspect) {
        for (pid_t pid : ops::all_processes())
          if (ops::maps_runtime(pid)) pids.push_back(pid);
        if (pids.empty()) throw Error(ErrorKind::Target, "no process has the hotpatch runtime loaded (no patch is applied anywhere we may see)");
        return pids;
      }
      if (!patch || !patch->build_id)
        throw Error(ErrorKind::Usage, fmt::format("-p all needs a patch that names its build-id (HOTPATCH_BUILD_ID); "
                                                  "{} has none: select the processes with --exe PATH",
                                                  patch ? patch->path : "the patch"));
      ops::BuildIdCache ids;
      for (pid_t pid : ops::all_processes())
        if (maps_build_id(pid, *patch, ids)) pids.push_back(pid);
      if (pids.empty())
        throw Error(ErrorKind::Target, fmt::format("no process maps {} with build-id {} (that we may see)",
                                                   patch->object.value_or("a program"), *patch->build_id));
      return pids;
    }
  }
  return pids;
}

int run_on_processes(const Selection& sel, const std::vector<pid_t>& pids, const RunOptions& opts, Output& out,
                     const std::function<ProcessResult(pid_t)>& one) {
  std::vector<ProcessResult> results;
  int exit_code = 0;
  std::string first_error;
  std::optional<int> interrupted;
  for (size_t i = 0; i < pids.size(); ++i) {
    pid_t pid = pids[i];
    if (!interrupted) interrupted = stop_signal();
    if ((exit_code != 0 && !opts.keep_going) || interrupted) {
      ProcessResult skipped;
      skipped.pid = pid;
      skipped.status = "not-attempted";
      results.push_back(skipped);
      continue;
    }
    ProcessResult r;
    verbose::step(fmt::format("process {}: {}", pid, opts.command));
    try {
      r = one(pid);
      r.pid = pid;
    } catch (const Error& e) {
      r = {};
      r.pid = pid;
      r.status = "failed";
      r.exit_code = e.exit_code();
      r.error = e.what();
    } catch (const std::exception& e) {
      r = {};
      r.pid = pid;
      r.status = "failed";
      r.exit_code = static_cast<int>(ErrorKind::Internal);
      r.error = e.what();
    }
    verbose::step(fmt::format("process {}: {}", pid, r.status));
    if (r.exit_code != 0) {
      if (sel.several()) r.error = failure_message(pid, r.error);
      if (exit_code == 0) {
        exit_code = r.exit_code;
        first_error = r.error;
      }
    }
    // Text goes out as each process is done: a long run shows its progress.
    if (!out.json && !out.quiet)
      for (const auto& line : r.lines)
        fmt::print("{}{}\n", sel.several() && !line.starts_with(" ") ? fmt::format("process {}: ", pid) : "", line);
    std::fflush(stdout);
    if (r.exit_code != 0) fmt::print(stderr, "hotpatch: error: {}\n", r.error);
    results.push_back(std::move(r));
  }

  std::vector<pid_t> not_attempted;
  for (const auto& r : results)
    if (r.status == "not-attempted") not_attempted.push_back(r.pid);
  if (!not_attempted.empty() && interrupted)
    fmt::print(stderr, "hotpatch: error: interrupted ({}); not attempted: {}\n", ::strsignal(*interrupted),
               fmt::join(not_attempted, ", "));
  else if (!not_attempted.empty())
    fmt::print(stderr, "hotpatch: error: stopped at the first failure; not attempted: {} (--keep-going tries every "
                       "process)\n", fmt::join(not_attempted, ", "));

  if (out.json) {
    nlohmann::json processes = nlohmann::json::array();
    for (const auto& r : results) {
      nlohmann::json j = r.json;
      j["pid"] = r.pid;
      j["ok"] = r.exit_code == 0 && r.status != "not-attempted";
      j["status"] = r.status;
      j["exit_code"] = r.exit_code;
      if (r.exit_code != 0) j["error"] = r.error;
      processes.push_back(std::move(j));
    }
    out.doc["command"] = opts.command;
    out.doc["ok"] = exit_code == 0 && not_attempted.empty();
    if (interrupted) out.doc["interrupted"] = ::sigabbrev_np(*interrupted) ? fmt::format("SIG{}", ::sigabbrev_np(*interrupted)) : "?";
    out.doc["exit_code"] = exit_code;
    if (exit_code != 0) out.doc["error"] = first_error;
    out.doc["processes"] = std::move(processes);
  }
  return exit_code;
}

}  // namespace hotpatch::cli

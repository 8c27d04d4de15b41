// Which processes a command works on (-p PID, -p PID,PID..., -p all, --exe PATH), and
// running a per-process command over them: one result per process, the exit status,
// --keep-going (docs/cli.md, "Several processes").
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hotpatch {
struct PatchFile;
}

namespace hotpatch::cli {

struct Output;

struct Selection {
  enum class Kind { None, Single, List, All, Exe };
  Kind kind = Kind::None;
  std::vector<pid_t> pids;  // Single, List: as given
  std::string exe;          // Exe: the path given

  // Results name their process ("process PID: ...") unless one pid was given.
  bool several() const { return kind != Kind::None && kind != Kind::Single; }
};

// Parses -p's text ("1234", "12,34", "all") and --exe. Throws Error(Usage).
Selection parse_selection(const std::string& pid_text, const std::string& exe);

// What the processes are selected for: `-p all` means the processes the patch
// fits (its build-id) for apply/check, and processes with patches for list/revert.
enum class Purpose { Patch, Inspect };

// The pids to work on, in order. For Exe: every process whose program is the file
// at the path (device and inode of /proc/PID/exe). For All: with Purpose::Patch
// every process that maps the object `patch`'s build-id names (a patch without one
// is refused: use --exe), with Purpose::Inspect every process with the hotpatch
// runtime loaded. Processes we may not look at are skipped. Throws Error(Target)
// when nothing matches, Error(Usage) for a bad selection.
std::vector<pid_t> select_processes(const Selection& sel, Purpose purpose, const PatchFile* patch);

// One process's outcome.
struct ProcessResult {
  pid_t pid = 0;
  std::string status;              // "applied", "already-applied", "reverted", ...; "failed", "not-attempted"
  int exit_code = 0;               // 0, or the documented exit code of the failure
  std::string error;               // the failure's one-line message
  std::vector<std::string> lines;  // text output (without the "process PID: " prefix)
  nlohmann::json json = nlohmann::json::object();  // command-specific fields
};

struct RunOptions {
  std::string command;  // "apply", "revert", "list", "check"
  bool keep_going = false;
};

// Runs `one` for each pid. A hotpatch::Error or other exception becomes a failed
// result. Without keep_going, stops at the first failure; the rest are reported as
// not attempted. A deferred SIGINT/SIGTERM/SIGHUP/SIGQUIT (main blocks them while
// processes are changed) stops it before the next process likewise. Prints the results (text, or the JSON object with `processes`) and
// returns the exit status: 0 if every process succeeded, else the first failure's code.
int run_on_processes(const Selection& sel, const std::vector<pid_t>& pids, const RunOptions& opts, Output& out,
                     const std::function<ProcessResult(pid_t)>& one);

}  // namespace hotpatch::cli

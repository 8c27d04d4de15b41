// Errors carry a category that the CLI maps to its documented exit code, and a
// one-line message with context (pid, tid, symbol, address). Exceptions, not
// result values: every intrusion into the target is an RAII guard, and unwinding
// through those guards is what puts the target back as it was.
#pragma once

#include <stdexcept>
#include <string>

namespace hotpatch {

// Values are the CLI's exit codes (docs/cli.md). Keep them stable.
enum class ErrorKind : int {
  Internal = 1,       // a bug or an unexpected system failure
  Usage = 2,          // bad command line
  Target = 3,         // no such process, not permitted, target exited mid-way
  BadPatchFile = 4,   // not ELF, not a hotpatch file, truncated, wrong format version
  DoesNotFit = 5,     // unknown symbol, function too short, build-id mismatch, IFUNC
  Busy = 6,           // a function stayed active until --timeout
  Conflict = 7,       // duplicate id, unknown id, revert order, registry state
  Refused = 8,        // the process's runtime answered ERR (control socket commands)
  NoControlServer = 9,  // no control socket: the process runs no control server
  Interrupted = 10,     // SIGINT/SIGTERM/SIGHUP/SIGQUIT while waiting on the process
  Untrusted = 11,       // the trust policy refuses it: signature bad, missing or untrusted; code loading not allowed
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return static_cast<int>(kind_); }

 private:
  ErrorKind kind_;
};

// "what: strerror(errno)" for a failed system call.
std::string errno_message(const std::string& what, int err);

}  // namespace hotpatch

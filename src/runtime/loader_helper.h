// LoaderHelper: the `hotpatch` command line run as a child of this process, on this
// process. The runtime cannot stop its own threads (a thread cannot ptrace its own
// process) and should not carry a disassembler into every program it lives in, so
// for `func upgrade/rollback` it asks the Loader, which does both every day
// (docs/cooperative.md, "How the jump is written").
#pragma once

#include <string>
#include <vector>

namespace hotpatch::runtime {

class LoaderHelper {
 public:
  // Runs `hotpatch -p <this pid> ARGS...` and waits for it (at most `timeout_ms`).
  // True with its standard output lines if it succeeded; false with `error` set to
  // its one-line error (or why it could not run).
  static bool run(const std::vector<std::string>& args, int timeout_ms, std::vector<std::string>& output,
                  std::string& error);

  // Where the helper is: $HOTPATCH_CLI, else `hotpatch` next to libhotpatch.so (build
  // tree) or in the bindir it was installed with (common/paths.h), else on $PATH. It
  // must be a file no other user can write.
  static bool locate(std::string& path, std::string& error);
};

}  // namespace hotpatch::runtime

#include "loader/interruption.h"

#include <signal.h>
#include <string.h>

#include <fmt/format.h>

#include "common/error.h"

namespace hotpatch {

namespace {
bool g_call_abandoned = false;
}

int pending_termination_signal() {
  sigset_t pending;
  if (::sigpending(&pending) != 0) return 0;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT})
    if (sigismember(&pending, sig)) return sig;
  return 0;
}

void throw_if_interrupted(const std::string& what) {
  int sig = pending_termination_signal();
  if (sig == 0) return;
  throw Error(ErrorKind::Interrupted, fmt::format("interrupted by SIG{} while {}", sigabbrev_np(sig), what));
}

void note_call_abandoned() { g_call_abandoned = true; }
bool call_abandoned() { return g_call_abandoned; }

}  // namespace hotpatch

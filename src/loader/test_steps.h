// Test-only stop points in apply and revert (docs/cli.md, "Test-only switches"),
// compiled into the hotpatch-test CLI only (HOTPATCH_TEST_HOOKS; the installed
// hotpatch ignores the variables below), so
// a test can SIGKILL the CLI at exactly one of them (tests/e2e/kill_every_step), or
// make it fail there (tests/e2e/hostile_commit_failure). Without the environment
// variables below every call here does nothing.
//
//   HOTPATCH_TEST_STEPS=list     print "hotpatch: step NAME" on stderr at each point
//   HOTPATCH_TEST_STOP_AT=NAME   at that point print "hotpatch: stopped at step NAME
//                                (pid P)" and stop the CLI itself with SIGSTOP
//   HOTPATCH_TEST_FAIL_AT=NAME   at that point throw Error(Internal) "failure
//                                injected at step NAME", as any failure there would
//
// Names are "PHASE:WHAT", e.g. "apply:jump-2-written" or
// "apply:call-3-dlopen:inside"; a run lists the ones it passes, in order.
#pragma once

#include <string>

namespace hotpatch::test_steps {

// A named point reached in the current phase. Throws at HOTPATCH_TEST_FAIL_AT.
void reached(const std::string& what);

// Sets the phase ("apply", "revert", "recover") for its lifetime; remote calls are
// numbered from 1 within a phase.
class Phase {
 public:
  explicit Phase(const char* name);
  ~Phase();
  Phase(const Phase&) = delete;
  Phase& operator=(const Phase&) = delete;

 private:
  std::string previous_;
  int previous_calls_ = 0;
};

// "call-N-LABEL" for the next remote call of the phase (LABEL: "dlopen", "mmap"...).
std::string next_call(const std::string& label);

}  // namespace hotpatch::test_steps

#include "loader/test_steps.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/core.h>

#include "common/error.h"

namespace hotpatch::test_steps {

namespace {

std::string g_phase = "run";
int g_calls = 0;

#ifdef HOTPATCH_TEST_HOOKS
struct Settings {
  bool list = false;
  std::string stop_at;
  std::string fail_at;
};

const Settings& settings() {
  static const Settings s = [] {
    Settings out;
    if (const char* v = std::getenv("HOTPATCH_TEST_STEPS")) out.list = std::string(v) == "list";
    if (const char* v = std::getenv("HOTPATCH_TEST_STOP_AT")) out.stop_at = v;
    if (const char* v = std::getenv("HOTPATCH_TEST_FAIL_AT")) out.fail_at = v;
    return out;
  }();
  return s;
}
#endif

}  // namespace

#ifdef HOTPATCH_TEST_HOOKS
void reached(const std::string& what) {
  const Settings& s = settings();
  if (!s.list && s.stop_at.empty() && s.fail_at.empty()) return;
  std::string name = g_phase + ":" + what;
  if (s.list) fmt::print(stderr, "hotpatch: step {}\n", name);
  if (name == s.fail_at)
    throw Error(ErrorKind::Internal, fmt::format("failure injected at step {} (HOTPATCH_TEST_FAIL_AT)", name));
  if (name == s.stop_at) {
    fmt::print(stderr, "hotpatch: stopped at step {} (pid {})\n", name, ::getpid());
    std::fflush(stderr);
    ::raise(SIGSTOP);
  }
}
#else
// The installed CLI: the switches do not exist (hotpatch-test has them, for tests).
void reached(const std::string&) {}
#endif

Phase::Phase(const char* name) : previous_(g_phase), previous_calls_(g_calls) {
  g_phase = name;
  g_calls = 0;
}

Phase::~Phase() {
  g_phase = previous_;
  g_calls = previous_calls_;
}

std::string next_call(const std::string& label) { return fmt::format("call-{}-{}", ++g_calls, label); }

}  // namespace hotpatch::test_steps

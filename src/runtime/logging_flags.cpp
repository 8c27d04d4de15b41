#include "runtime/logging_flags.h"

#include <dlfcn.h>

#include <mutex>
#include <vector>

#include "common/control_protocol.h"
#include "runtime/reply.h"

namespace hotpatch::runtime {

namespace {

// gflags 2.2 (Debian 12's libgflags2.2) in namespace google, C++11 string ABI.
using GetOptionFn = bool (*)(const char*, std::string*);
using SetOptionFn = std::string (*)(const char*, const char*);
using AllFlagsFn = std::string (*)();
constexpr const char* kGetCommandLineOption =
    "_ZN6google20GetCommandLineOptionEPKcPNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE";
constexpr const char* kSetCommandLineOption = "_ZN6google20SetCommandLineOptionB5cxx11EPKcS1_";
constexpr const char* kCommandlineFlagsIntoString = "_ZN6google26CommandlineFlagsIntoStringB5cxx11Ev";

// glog 0.6: its flags (namespace fLI: int32 flags) and the vmodule setter.
constexpr const char* kFlagsMinloglevel = "_ZN3fLI17FLAGS_minloglevelE";
constexpr const char* kFlagsV = "_ZN3fLI7FLAGS_vE";
constexpr const char* kSetVLOGLevel = "_ZN6google12SetVLOGLevelEPKci";
using SetVlogLevelFn = int (*)(const char*, int);

template <typename T>
T lookup(const char* symbol) {
  return reinterpret_cast<T>(dlsym(RTLD_DEFAULT, symbol));
}

constexpr const char* kNoGflags = "this process does not use gflags (no gflags library found in it)";
constexpr const char* kNoGlog = "this process does not use glog (no glog library found in it)";

// vmodule settings made through the socket, shown by `glog get` (glog keeps its list
// private and the flag only holds the value given at startup).
std::mutex vmodule_lock;
std::vector<std::string>& vmodule_settings() {
  static std::vector<std::string> settings;
  return settings;
}

bool parse_level(const std::string& text, int32_t min, int32_t max, int32_t& out, std::string& error) {
  control::ParsedValue v = control::parse_value(control::ValueKind::Int32, text);
  if (!v.ok) {
    error = v.error;
    return false;
  }
  if (v.i < min || v.i > max) {
    error = "'" + text + "' is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    return false;
  }
  out = static_cast<int32_t>(v.i);
  return true;
}

}  // namespace

void ProcessGflags::list(Reply& reply) {
  auto all = lookup<AllFlagsFn>(kCommandlineFlagsIntoString);
  if (!all) return reply.fail(kNoGflags);
  std::string text = all();  // "--name=value\n" per flag
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) reply.line(text.substr(start, end - start));
    start = end + 1;
  }
}

void ProcessGflags::get(const std::string& name, Reply& reply) {
  auto get_option = lookup<GetOptionFn>(kGetCommandLineOption);
  if (!get_option) return reply.fail(kNoGflags);
  std::string value;
  if (!get_option(name.c_str(), &value)) return reply.fail("no flag '" + name + "' in this process (see: gflags list)");
  reply.line(value);
}

void ProcessGflags::set(const std::string& name, const std::string& value, Reply& reply) {
  auto get_option = lookup<GetOptionFn>(kGetCommandLineOption);
  auto set_option = lookup<SetOptionFn>(kSetCommandLineOption);
  if (!get_option || !set_option) return reply.fail(kNoGflags);
  std::string old;
  if (!get_option(name.c_str(), &old)) return reply.fail("no flag '" + name + "' in this process (see: gflags list)");
  // gflags parses the value and runs the flag's validator; an empty answer is a refusal.
  std::string result = set_option(name.c_str(), value.c_str());
  if (result.empty())
    return reply.fail("gflags refused '" + value + "' for flag '" + name + "' (bad value or rejected by its validator); it stays " + old);
  std::string now;
  get_option(name.c_str(), &now);
  reply.line(now);
}

void ProcessGlog::get(Reply& reply) {
  auto* minloglevel = lookup<int32_t*>(kFlagsMinloglevel);
  auto* v = lookup<int32_t*>(kFlagsV);
  if (!minloglevel || !v) return reply.fail(kNoGlog);
  reply.line("minloglevel " + std::to_string(__atomic_load_n(minloglevel, __ATOMIC_RELAXED)));
  reply.line("v " + std::to_string(__atomic_load_n(v, __ATOMIC_RELAXED)));
  std::string vmodule;
  if (auto get_option = lookup<GetOptionFn>(kGetCommandLineOption)) get_option("vmodule", &vmodule);
  std::lock_guard<std::mutex> guard(vmodule_lock);
  for (const auto& s : vmodule_settings()) vmodule += (vmodule.empty() ? "" : ",") + s;
  reply.line("vmodule " + control::quote_word(vmodule));
}

void ProcessGlog::set(const std::string& what, const std::string& value, Reply& reply) {
  std::string error;
  int32_t level = 0;
  if (what == "minloglevel" || what == "v") {
    auto* flag = lookup<int32_t*>(what == "v" ? kFlagsV : kFlagsMinloglevel);
    if (!flag) return reply.fail(kNoGlog);
    // glog's severities are INFO=0 .. FATAL=3; VLOG levels are any int.
    bool ok = what == "v" ? parse_level(value, INT32_MIN, INT32_MAX, level, error) : parse_level(value, 0, 3, level, error);
    if (!ok) return reply.fail("glog " + what + ": " + error);
    // glog reads both flags on every LOG/VLOG (VLOG sites point at FLAGS_v), so the
    // store takes effect at the next log statement.
    __atomic_store_n(flag, level, __ATOMIC_RELAXED);
    reply.line(what + " " + std::to_string(level));
    return;
  }
  if (what == "vmodule") {
    auto set_vlog = lookup<SetVlogLevelFn>(kSetVLOGLevel);
    if (!set_vlog) return reply.fail(kNoGlog);
    size_t eq = value.rfind('=');
    if (eq == std::string::npos || eq == 0) return reply.fail("glog vmodule: expected MODULE=N, got '" + value + "'");
    std::string module = value.substr(0, eq);
    if (!parse_level(value.substr(eq + 1), INT32_MIN, INT32_MAX, level, error))
      return reply.fail("glog vmodule: " + error);
    set_vlog(module.c_str(), level);  // resets every VLOG site's cached level
    std::lock_guard<std::mutex> guard(vmodule_lock);
    auto& settings = vmodule_settings();
    std::erase_if(settings, [&](const std::string& s) { return s.compare(0, module.size() + 1, module + "=") == 0; });
    settings.push_back(module + "=" + std::to_string(level));
    reply.line("vmodule " + module + "=" + std::to_string(level));
    return;
  }
  reply.fail("glog set: unknown setting '" + what + "'; expected minloglevel, v or vmodule");
}

}  // namespace hotpatch::runtime

#include "loader/patch_callbacks.h"

#include <dlfcn.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "common/error.h"
#include "loader/patch_load.h"
#include "loader/process.h"
#include "loader/remote_call.h"
#include "loader/runtime_registry.h"
#include "loader/target_objects.h"
#include "loader/thread.h"

namespace hotpatch {

namespace {

using Clock = std::chrono::steady_clock;

// An exported symbol of the process's Core Runtime (libhotpatch*.so), if loaded.
std::optional<RemoteAddr> runtime_export(const TargetObjects& objects, const std::string& name) {
  for (const auto& o : objects.objects()) {
    if (o.basename().rfind("libhotpatch", 0) != 0) continue;
    try {
      for (const ElfSymbol* s : objects.image(o).find_symbols(name))
        if (s->dynamic && s->section_index != 0) return RemoteAddr(s->value + o.bias);
    } catch (const Error&) {
    }
  }
  return std::nullopt;
}

RemoteAddr runtime_function(const Process& process, const TargetObjects& objects, const std::string& name) {
  auto found = runtime_export(objects, name);
  if (!found)
    throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: its hotpatch runtime has no {} (loaded by an older "
                                                   "hotpatch?); shadow variables need this one's", process.pid(), name));
  return *found;
}

constexpr const char* kRuntimeApiPrefix = "hotpatch_shadow_";

}  // namespace

bool uses_runtime_api(const ElfImage& patch_image, const PatchFile& patch) {
  for (const auto& r : patch_image.dynamic_relocations())
    if (!r.symbol_defined && r.symbol.rfind(kRuntimeApiPrefix, 0) == 0) return true;
  for (const auto& t : patch.target_relocs)
    if (t.target_symbol.rfind(kRuntimeApiPrefix, 0) == 0) return true;
  return false;
}

void load_runtime_globally(Process& process, const TargetObjects& objects, const std::string& runtime_path,
                           Clock::time_point deadline) {
  RemoteAddr dlopen = objects.resolve("dlopen", &objects.libc("load code into it"), true).address;
  auto thread = acquire_thread_for_calls(process, objects, deadline);
  check_same_file_in_target(process, thread->tid(), runtime_path);
  RemoteCall rc(process, *thread, objects);
  RemoteAddr path = rc.push_string(runtime_path);
  if (rc.call(dlopen, {path.value(), RTLD_NOW | RTLD_GLOBAL}, "dlopen(" + runtime_path + ", RTLD_GLOBAL)") == 0)
    throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: dlopen of {} failed inside the target", process.pid(),
                                                   runtime_path));
}

namespace {

// A thread of the runtime's own for the callback: a borrowed program thread may
// hold a lock the callback takes (it would wait for itself forever); the
// runtime's thread holds none. Without a runtime that can start one (an older
// one), the callback runs on a borrowed thread as before.
void ensure_runtime_thread(Process& process, const TargetObjects& objects, Clock::time_point deadline) {
  if (runtime_control_thread(process, objects)) return;
  auto start = runtime_export(objects, "hotpatch_start_call_thread");
  if (!start) return;
  {
    auto thread = acquire_thread_for_calls(process, objects, deadline);
    RemoteCall rc(process, *thread, objects);
    auto result = static_cast<int>(static_cast<uint32_t>(rc.call(*start, {}, "hotpatch_start_call_thread()")));
    if (result != 0)
      throw Error(ErrorKind::Internal, fmt::format("process {}: the runtime could not start a thread for callbacks: {}",
                                                   process.pid(), std::strerror(-result)));
  }
  // The new thread says its id once it runs.
  while (!runtime_control_thread(process, objects)) {
    if (Clock::now() >= deadline)
      throw Error(ErrorKind::Busy, fmt::format("process {}: the runtime's thread for callbacks did not start in time",
                                               process.pid()));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

int run_callback(Process& process, const TargetObjects& objects, RemoteAddr function, const std::string& what,
                 Clock::time_point deadline) {
  ensure_runtime_thread(process, objects, deadline);
  auto thread = acquire_thread_for_calls(process, objects, deadline);
  RemoteCall rc(process, *thread, objects);
  return static_cast<int>(static_cast<uint32_t>(rc.call(function, {}, what)));
}

void claim_shadow_ids(Process& process, const TargetObjects& objects, const std::string& patch_id,
                      const std::vector<PatchShadowId>& ids, Clock::time_point deadline) {
  RemoteAddr claim = runtime_function(process, objects, "hotpatch_shadow_claim");
  auto thread = acquire_thread_for_calls(process, objects, deadline);
  RemoteCall rc(process, *thread, objects);
  std::string raw;
  for (const auto& s : ids) raw.append(reinterpret_cast<const char*>(&s.id), sizeof s.id);
  RemoteAddr array = rc.push_string(raw);
  RemoteAddr name = rc.push_string(patch_id);
  auto rc_value = static_cast<int>(static_cast<uint32_t>(
      rc.call(claim, {name.value(), array.value(), ids.size()}, "hotpatch_shadow_claim(" + patch_id + ")")));
  if (rc_value != 0)
    throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: the runtime refused the {} shadow variable id{} of patch "
                                                   "'{}': {}", process.pid(), ids.size(), ids.size() == 1 ? "" : "s",
                                                   patch_id, rc_value == -ENOSPC ? "too many ids claimed (256 at most)"
                                                                             : fmt::format("error {}", -rc_value)));
}

uint64_t release_shadow_ids(Process& process, const TargetObjects& objects, const std::string& patch_id,
                            Clock::time_point deadline) {
  RemoteAddr release = runtime_function(process, objects, "hotpatch_shadow_release");
  auto thread = acquire_thread_for_calls(process, objects, deadline);
  RemoteCall rc(process, *thread, objects);
  RemoteAddr name = rc.push_string(patch_id);
  return rc.call(release, {name.value()}, "hotpatch_shadow_release(" + patch_id + ")");
}

ShadowStats read_shadow_stats(const Process& process, const TargetObjects& objects) {
  ShadowStats stats;
  if (auto at = runtime_export(objects, "hotpatch_shadow_stats")) process.read(*at, &stats, sizeof stats);
  return stats;
}

ShadowClaim::ShadowClaim(Process& process, const TargetObjects& objects, const PatchFile& patch, Clock::time_point deadline)
    : process_(process), objects_(objects), id_(patch.id) {
  if (patch.shadow_ids.empty()) return;
  claim_shadow_ids(process, objects, patch.id, patch.shadow_ids, deadline);
  claimed_ = true;
}

ShadowClaim::~ShadowClaim() {
  if (!claimed_ || kept_ || !process_.alive()) return;
  try {
    release_shadow_ids(process_, objects_, id_, Clock::now() + std::chrono::seconds(10));
  } catch (const std::exception& e) {
    fmt::print(stderr, "hotpatch: warning: process {}: the shadow variable ids of '{}' stay claimed: {}\n",
               process_.pid(), id_, e.what());
  }
}

}  // namespace hotpatch

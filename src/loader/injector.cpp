#include "loader/injector.h"

#include <dlfcn.h>

#include "common/error.h"
#include "common/paths.h"
#include "loader/address_space.h"
#include "loader/process.h"
#include "loader/remote_call.h"
#include "loader/runtime_registry.h"
#include "loader/target_objects.h"

namespace hotpatch {

namespace {

constexpr const char* kInitFunction = "hotpatch_init_server";
constexpr const char* kLastErrorFunction = "hotpatch_last_error";

const LoadedObject* find_runtime_object(const TargetObjects& objects, const std::string& path) {
  if (const LoadedObject* o = objects.find_object(path)) return o;
  for (const auto& o : objects.objects())
    if (is_runtime_library_name(o.basename())) return &o;
  return nullptr;
}

}  // namespace

InjectReport inject_control_server(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Process process(pid);
  TargetObjects objects(process, process.address_space());
  InjectReport report;
  auto runtime = RuntimeRegistry::find(objects);
  report.runtime_path = runtime ? runtime->runtime_path() : locate_runtime_library();
  if (!runtime) check_file_is_trusted(report.runtime_path);

  const LoadedObject* libc = &objects.libc("load the runtime");
  RemoteAddr dlopen_fn = objects.resolve("dlopen", libc, true).address;
  RemoteAddr dlerror_fn = objects.resolve("dlerror", libc, true).address;

  auto thread = acquire_thread_for_calls(process, objects, deadline);
  RemoteCall rc(process, *thread, objects);
  if (!runtime) {
    RemoteAddr path = rc.push_string(report.runtime_path);
    uint64_t handle = rc.call(dlopen_fn, {path.value(), RTLD_NOW | RTLD_LOCAL}, "dlopen(" + report.runtime_path + ")");
    if (handle == 0) {
      uint64_t msg = rc.call(dlerror_fn, {}, "dlerror()");
      throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: dlopen of {} failed inside it: {}", pid,
                                                     report.runtime_path,
                                                     msg ? process.read_cstring(RemoteAddr(msg), 1024) : "unknown error"));
    }
    report.loaded_now = true;
  }
  // The runtime's functions, found in its mapping as it is now (it may have just arrived).
  TargetObjects now(process, process.address_space());
  const LoadedObject* rt = find_runtime_object(now, report.runtime_path);
  if (!rt) throw Error(ErrorKind::Internal, fmt::format("process {}: {} is loaded but not found in its maps", pid, report.runtime_path));
  auto init = now.try_resolve(kInitFunction, rt, true);
  if (!init)
    throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: its runtime {} has no {} (an older hotpatch runtime?)", pid,
                                                   rt->path, kInitFunction));
  int64_t rc_value = static_cast<int32_t>(rc.call(init->address, {}, std::string(kInitFunction) + "()"));
  if (rc_value != 0) {
    std::string why = "unknown reason";
    if (auto last_error = now.try_resolve(kLastErrorFunction, rt, true)) {
      uint64_t msg = rc.call(last_error->address, {}, std::string(kLastErrorFunction) + "()");
      if (msg) why = process.read_cstring(RemoteAddr(msg), 1024);
    }
    throw Error(ErrorKind::Refused, fmt::format("process {}: {}", pid, why));
  }
  return report;
}

}  // namespace hotpatch

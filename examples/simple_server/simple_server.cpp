// simple_server: the seed project's example, on this runtime. It registers two
// variables and a function, uses gflags and glog, and prints what they are, so the
// effect of every control command is visible in its output:
//
//   ./simple_server --threads=8 &
//   hotpatch -p $! var set string user_name "new name"
//   hotpatch -p $! lib load add_func_patch1 ./libadd_func_patch1.so
//   hotpatch -p $! func upgrade add_func_patch1 add_func
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gflags/gflags.h>
#include <glog/logging.h>

#include <hotpatch/hotpatch.h>

DEFINE_int32(interval_ms, 200, "milliseconds between two status lines");
DEFINE_int32(threads, 0, "worker threads calling add_func in a tight loop");
DEFINE_int32(port, 8080, "a flag to change at run time (validated: 1..65535)");
DEFINE_validator(port, [](const char*, int32_t v) { return v > 0 && v < 65536; });

// Replaceable: never inlined, and callers may not rely on which registers it leaves
// alone (the cooperative upgrade does not analyse that; the ptrace `apply` does).
// (The check also makes it long enough for a jump: `a + b; ret` alone is 4 bytes.)
extern "C" __attribute__((noipa)) int add_func(int a, int b) {
  if (__builtin_expect(b < 0, 0)) std::abort();
  return a + b;
}

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);

  hotpatch::InitHotpatchServer();
  std::string user_name = "myname";
  hotpatch::RegisterVariable("user_name", &user_name);
  int age = 10;
  hotpatch::RegisterVariable("age", &age);
  std::atomic<int64_t> requests{0};
  hotpatch::RegisterVariable("requests", &requests);
  double ratio = 0.5;
  hotpatch::RegisterVariable("ratio", &ratio);
  bool verbose = false;
  hotpatch::RegisterVariable("verbose", &verbose);
  hotpatch::RegisterFunction("add_func", reinterpret_cast<void*>(add_func));

  // Workers: each result must be one the original or a known patch gives
  // (a + b, a + b + 1000, a + b + 2000); anything else is a torn redirect.
  std::atomic<int64_t> by_version[3] = {};
  std::atomic<int64_t> bad{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < FLAGS_threads; ++t)
    workers.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        int a = i & 0xffff, b = t;
        int r = add_func(a, b) - (a + b);
        if (r == 0 || r == 1000 || r == 2000) by_version[r / 1000].fetch_add(1, std::memory_order_relaxed);
        else bad.fetch_add(1);
      }
    });

  std::printf("ready pid=%d socket=%s\n", getpid(), hotpatch_socket_path() ? hotpatch_socket_path() : "none");
  std::fflush(stdout);
  for (int64_t tick = 0;; ++tick) {
    std::string name;
    {
      hotpatch::VarLock lock;  // `var set` writes strings under this lock
      name = user_name;
    }
    requests.fetch_add(1);
    std::printf("user_name=%s age=%d ratio=%g verbose=%d add_func(1,2)=%d port=%d calls=%ld/%ld/%ld\n", name.c_str(),
                __atomic_load_n(&age, __ATOMIC_RELAXED), ratio, verbose ? 1 : 0, add_func(1, 2), FLAGS_port,
                static_cast<long>(by_version[0].load()), static_cast<long>(by_version[1].load()),
                static_cast<long>(by_version[2].load()));
    if (bad.load()) std::printf("BAD add_func returned a wrong result %ld times\n", static_cast<long>(bad.load()));
    std::fflush(stdout);
    LOG(INFO) << "info tick " << tick;
    LOG(WARNING) << "warning tick " << tick;
    VLOG(1) << "vlog1 tick " << tick;
    usleep(FLAGS_interval_ms * 1000);
  }
}

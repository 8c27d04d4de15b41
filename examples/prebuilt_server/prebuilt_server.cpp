// prebuilt_server: a program that knows nothing of hotpatch. Run it with
//   LD_PRELOAD=<libdir>/hotpatch/libhotpatch_preload.so ./prebuilt_server
// or start it plainly and give it a control server later with `hotpatch -p PID inject`.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <gflags/gflags.h>
#include <glog/logging.h>

DEFINE_int32(interval_ms, 100, "milliseconds between two lines");
DEFINE_string(greeting, "hello", "what every line starts with");

// Never inlined, so that replacing it replaces every call. (The check also makes it
// long enough for a jump: `x * 3; ret` alone is 4 bytes.)
extern "C" __attribute__((noipa)) int compute(int x) {
  if (__builtin_expect(x < 0, 0)) std::abort();
  return x * 3;
}

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  std::printf("ready pid=%d\n", getpid());
  std::fflush(stdout);
  for (long tick = 0;; ++tick) {
    std::printf("%s compute(7)=%d\n", FLAGS_greeting.c_str(), compute(7));
    std::fflush(stdout);
    LOG(INFO) << "info tick " << tick;
    usleep(FLAGS_interval_ms * 1000);
  }
}

// A cooperative service (C++ API): a string and an atomic it prints every 20 ms,
// and compute(), which a patch replaces.
#include <hotpatch/hotpatch.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>

static std::string greeting = "hello";
static std::atomic<int32_t> factor{3};

extern "C" __attribute__((noipa)) int compute(int x) {
  volatile int f = 3;
  return x * f;
}

int main() {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (!hotpatch::InitHotpatchServer() || !hotpatch::RegisterVariable("greeting", &greeting) ||
      !hotpatch::RegisterVariable("factor", &factor)) {
    std::printf("BAD cannot start the control server: %s\n", hotpatch_last_error());
    return 1;
  }
  for (;;) {
    std::string g;
    {
      hotpatch::VarLock lock;
      g = greeting;
    }
    std::printf("greeting=%s factor=%d compute(7)=%d\n", g.c_str(), factor.load(), compute(7));
    usleep(20000);
  }
}

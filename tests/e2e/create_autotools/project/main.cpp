#include <unistd.h>
#include <cstdio>
#include "conv.h"
#include "counter.h"

static int weighed;

__attribute__((noipa)) static int weight(int x) {
  ++weighed;
  return x + 1;
}

int main() {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  const conv::Scaler scaler(3);
  for (;;) {
    int n = counter::next();
    std::printf("value %d weight=%d n=%d\n", scaler.apply(7), weight(7), n);
    usleep(50000);
  }
}

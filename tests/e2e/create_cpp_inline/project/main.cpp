#include <cstdio>
#include <unistd.h>
#include "util.h"
int main() {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  for (;;) {
    int l = left(10), r = right(10);
    std::printf("left=%d right=%d ticks=%d\n", l, r, ticks());
    usleep(30000);
  }
}

#include <cstdio>
#include <unistd.h>
#include "counter.h"
int main() {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  for (;;) {
    Counter *k = new Counter(3);  // the complete-object constructor, called from here
    std::printf("v=%d k=%d\n", make_value(1), k->value + k->extra);
    delete k;
    usleep(30000);
  }
}

#include <cstdio>
#include <unistd.h>
#include "shapes.h"
int main() {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  geo::Rect r(3, 4);
  for (;;) {
    std::printf("area=%d perimeter=%d twice=%d twiced=%.1f\n", r.area(), r.perimeter(), geo::twice_int(21), geo::twice_double(1.5));
    usleep(30000);
  }
}

#include <hotpatch/patch.h>

int compute_p1(int x) {
  volatile int factor = 10;
  return x * factor;
}

HOTPATCH_ID("p1");
HOTPATCH_REPLACE(compute, compute_p1);

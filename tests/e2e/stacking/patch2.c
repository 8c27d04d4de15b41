#include <hotpatch/patch.h>

int compute_p2(int x) {
  volatile int factor = 100;
  return x * factor;
}

HOTPATCH_ID("p2");
HOTPATCH_DESCRIPTION("stacking: compute multiplies by 100");
HOTPATCH_REPLACE(compute, compute_p2);

#include <hotpatch/patch.h>

int compute_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

HOTPATCH_ID("fix-compute");
HOTPATCH_REPLACE(compute, compute_v2);

#include <hotpatch/patch.h>

int compute_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

HOTPATCH_ID("fix-compute");
HOTPATCH_DESCRIPTION("hostile_jemalloc: compute multiplies by 10");
HOTPATCH_REPLACE(compute, compute_v2);

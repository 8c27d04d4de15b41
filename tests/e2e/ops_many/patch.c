#include <hotpatch/patch.h>

int compute_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

HOTPATCH_ID("fix-compute");
HOTPATCH_DESCRIPTION("ops_many: compute multiplies by 10");
#ifdef BUILD_ID /* the scenario passes the target's build-id */
HOTPATCH_BUILD_ID(BUILD_ID);
#endif
HOTPATCH_REPLACE(compute, compute_v2);

/* Made for another build of the target. */
#include <hotpatch/patch.h>

int compute_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

HOTPATCH_ID("other-build");
HOTPATCH_BUILD_ID("0000000000000000000000000000000000000000");
HOTPATCH_REPLACE(compute, compute_v2);

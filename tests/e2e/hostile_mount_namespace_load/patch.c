#include <hotpatch/patch.h>

static int compute_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

HOTPATCH_ID("mntns-load");
HOTPATCH_REPLACE(compute, compute_v2);

#include <hotpatch/patch.h>

int compute_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

void spin_v2(void) {}

HOTPATCH_ID("fix-exits");
HOTPATCH_REPLACE(compute, compute_v2);
HOTPATCH_REPLACE(spin, spin_v2);

/* Replaces two functions: both must go in together, or neither. */
#include <hotpatch/patch.h>

int hold_v2(int wait) {
  volatile int v = 2;
  return v;
}

int compute_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

HOTPATCH_ID("busy-fix");
HOTPATCH_DESCRIPTION("busy_function: hold returns 2, compute multiplies by 10");
HOTPATCH_REPLACE(hold, hold_v2);
HOTPATCH_REPLACE(compute, compute_v2);

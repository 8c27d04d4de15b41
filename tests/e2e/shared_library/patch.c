#include <hotpatch/patch.h>

int calc_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

HOTPATCH_ID("fix-calc");
HOTPATCH_DESCRIPTION("shared_library: calc multiplies by 10");
HOTPATCH_REPLACE(calc, calc_v2);

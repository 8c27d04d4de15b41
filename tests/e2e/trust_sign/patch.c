#include <hotpatch/patch.h>

int compute_v2(int x) {
#ifdef EVIL
  volatile int factor = 99; /* what a file swapped in after the check would run */
#else
  volatile int factor = 10;
#endif
  return x * factor;
}

HOTPATCH_ID("trust-fix");
HOTPATCH_DESCRIPTION("trust_sign: compute multiplies by 10");
HOTPATCH_REPLACE(compute, compute_v2);
#ifdef NEAR
HOTPATCH_LINK_NEAR(); /* written into the target by the loader, as `hotpatch create` makes them */
#endif

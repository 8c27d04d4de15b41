/* compute(x) becomes 10*x, id fix-compute. Many cases apply this same patch to a
 * target of their own (build_patch ... "$E2E_DIR/basic_pie/patch.c"). */
#include <hotpatch/patch.h>

int compute_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

HOTPATCH_ID("fix-compute");
HOTPATCH_DESCRIPTION("basic_pie: compute multiplies by 10");
HOTPATCH_REPLACE(compute, compute_v2);

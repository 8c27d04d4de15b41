/* The second version of fix-compute, applied with `apply --replace fix-compute`:
 * with callbacks and a shadow-variable id, so that the JSON of info (callbacks,
 * shadow_ids), of apply --replace (replaced) and of list (shadow) is checked with
 * something in it. */
#include <hotpatch/patch.h>

HOTPATCH_ID("fix-compute-2");
HOTPATCH_DESCRIPTION("ops_json: compute multiplies by 10, with callbacks");
HOTPATCH_SHADOW_ID(0x4f50534a534f4eull);

static int compute_v3(int x) {
  volatile int factor = 10; /* the target takes 21 or 70 only */
  return x * factor;
}
HOTPATCH_REPLACE(compute, compute_v3);

static volatile int state;
static int pre_apply(void) { return state = 0; }
static void post_apply(void) { state = 1; }
static void pre_revert(void) { state = 2; }
static void post_revert(void) { state = 3; }
HOTPATCH_PRE_APPLY(pre_apply);
HOTPATCH_POST_APPLY(post_apply);
HOTPATCH_PRE_REVERT(pre_revert);
HOTPATCH_POST_REVERT(post_revert);

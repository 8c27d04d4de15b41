#include <hotpatch/patch.h>

HOTPATCH_ID("series-2");
#ifdef HOTPATCH_REBUILT /* the same id and code, other bytes */
HOTPATCH_DESCRIPTION("cumulative patch 2, rebuilt: alpha and gamma (beta's fix was dropped)");
#else
HOTPATCH_DESCRIPTION("cumulative patch 2: alpha and gamma (beta's fix was dropped)");
#endif

static int alpha_2(void) { volatile int v = 2; return v; }
static int gamma_2(void) { volatile int v = 2; return v; }
HOTPATCH_REPLACE(alpha, alpha_2);
HOTPATCH_REPLACE(gamma_, gamma_2);

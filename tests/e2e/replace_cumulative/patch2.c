#include <hotpatch/patch.h>

HOTPATCH_ID("series-2");
HOTPATCH_DESCRIPTION("cumulative patch 2: alpha and gamma (beta's fix was dropped)");

static int alpha_2(void) { volatile int v = 2; return v; }
static int gamma_2(void) { volatile int v = 2; return v; }
HOTPATCH_REPLACE(alpha, alpha_2);
HOTPATCH_REPLACE(gamma_, gamma_2);

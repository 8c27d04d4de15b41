#include <hotpatch/patch.h>

#ifdef HOTPATCH_TOP
HOTPATCH_ID("top"); /* the same code under another id, stacked on top */
#else
HOTPATCH_ID("series-1");
#endif
HOTPATCH_DESCRIPTION("cumulative patch 1: alpha and beta");

static int alpha_1(void) { volatile int v = 1; return v; }
static int beta_1(void) { volatile int v = 1; return v; }
HOTPATCH_REPLACE(alpha, alpha_1);
HOTPATCH_REPLACE(beta, beta_1);

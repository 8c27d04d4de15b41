#include <hotpatch/patch.h>

HOTPATCH_ID("fix-fleet");
HOTPATCH_DESCRIPTION("pkg_ansible: compute multiplies by 10");
#ifdef BUILD_ID
HOTPATCH_BUILD_ID(BUILD_ID);
#endif

static int compute_v2(int x) { return x * 10; }
HOTPATCH_REPLACE(compute, compute_v2);

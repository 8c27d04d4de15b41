#include <hotpatch/patch.h>

HOTPATCH_ID("fix-installed");
HOTPATCH_DESCRIPTION("pkg_install: compute multiplies by 10");

static int compute_v2(int x) { return x * 10; }
HOTPATCH_REPLACE(compute, compute_v2);

#include <hotpatch/patch.h>

int compute_v3(int x) { return x; }

HOTPATCH_ID("wrong-build");
HOTPATCH_BUILD_ID("0123456789abcdef0123456789abcdef01234567");
HOTPATCH_REPLACE(compute, compute_v3);

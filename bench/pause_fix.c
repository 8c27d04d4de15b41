/* The patch the P2 benchmark applies to spin_target: bench_patch_me() now answers
 * x + 1000, so the target can count the calls that went through the patch. */
#include <hotpatch/patch.h>

int bench_patch_me_v2(int x) { return x + 1000; }

HOTPATCH_ID("bench-pause");
HOTPATCH_DESCRIPTION("P2 benchmark: redirect bench_patch_me");
HOTPATCH_REPLACE(bench_patch_me, bench_patch_me_v2);

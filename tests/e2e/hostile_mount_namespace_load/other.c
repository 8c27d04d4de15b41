/* The file mounted over patch.so in the target's mount namespace: same id, other
 * code. Loading it instead of patch.so is what the case must never see. */
#include <stdio.h>

#include <hotpatch/patch.h>

__attribute__((constructor)) static void announce(void) { printf("other file loaded\n"); fflush(stdout); }

static int compute_v2(int x) {
  volatile int factor = 1000;
  return x * factor + 1;
}

HOTPATCH_ID("mntns-load");
HOTPATCH_REPLACE(compute, compute_v2);

/* A patch whose constructor crashes: the fault happens inside the remote dlopen,
 * which holds the dynamic loader's lock. */
#include <hotpatch/patch.h>

int compute_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

static int *volatile nowhere; /* NULL, read at run time */

__attribute__((constructor)) static void crash(void) { *nowhere = 1; }

HOTPATCH_ID("crash-in-dlopen");
HOTPATCH_REPLACE(compute, compute_v2);

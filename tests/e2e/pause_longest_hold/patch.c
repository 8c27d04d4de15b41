/* Its constructor takes 300 ms: the thread that runs the patch's dlopen is held
 * that long (the other keeps working). */
#include <hotpatch/patch.h>
#include <unistd.h>

__attribute__((constructor)) static void slow_start(void) { usleep(300000); }

static int compute_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

HOTPATCH_ID("slow-fix");
HOTPATCH_REPLACE(compute, compute_v2);

/* Callbacks that crash: the fault is not delivered to the program. A faulting
 * pre-apply (while the file CRASH_FILE exists) stops the apply with nothing
 * changed; a faulting post-apply leaves the patch applied, and says so. */
#include <unistd.h>

#include <hotpatch/patch.h>

HOTPATCH_ID("crash-fix");

static int compute_v3(int x) {
  volatile int factor = 10;
  return x * factor;
}
HOTPATCH_REPLACE(compute, compute_v3);

static int pre_apply(void) {
  if (access(CRASH_FILE, F_OK) == 0) *(volatile int *)0 = 1;
  return 0;
}
static void post_apply(void) { *(volatile int *)0 = 1; }
HOTPATCH_PRE_APPLY(pre_apply);
HOTPATCH_POST_APPLY(post_apply);

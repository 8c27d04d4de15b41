#include <hotpatch/patch.h>

extern int inner(int x);

/* Not a tail call: inner() returns into work_v2, in the patch's code. */
static int work_v2(int x) {
  volatile int factor = 10;
  return inner(x) * factor - factor;
}

HOTPATCH_ID("altstack-fix");
HOTPATCH_REPLACE(work, work_v2);

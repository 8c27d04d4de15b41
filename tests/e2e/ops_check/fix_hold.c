#include <hotpatch/patch.h>

int hold_v2(int wait) {
  volatile int v = 2;
  return v;
}

HOTPATCH_ID("fix-hold");
HOTPATCH_REPLACE(hold, hold_v2);

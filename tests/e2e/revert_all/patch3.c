#include <hotpatch/patch.h>

int version_p3(void) {
  volatile int v = 3;
  return v;
}

HOTPATCH_ID("p3");
HOTPATCH_REPLACE(version, version_p3);

#include <hotpatch/patch.h>

int scale_v2(int x) {
  volatile int factor = 20;
  return x * factor;
}

HOTPATCH_ID("fix-scale");
HOTPATCH_DESCRIPTION("ops_agent: scale multiplies by 20");
HOTPATCH_OBJECT("libsvc.so");
HOTPATCH_BUILD_ID(BUILD_ID);
HOTPATCH_REPLACE(scale, scale_v2);

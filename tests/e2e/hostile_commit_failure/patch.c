#include <hotpatch/patch.h>

int alpha_v2(void) {
  volatile int v = 2;
  return v;
}

int beta_v2(void) {
  volatile int v = 2;
  return v;
}

HOTPATCH_ID("two");
HOTPATCH_DESCRIPTION("hostile_commit_failure: alpha and beta return 2");
HOTPATCH_REPLACE(alpha, alpha_v2);
HOTPATCH_REPLACE(beta, beta_v2);

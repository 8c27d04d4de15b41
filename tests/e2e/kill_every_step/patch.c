#include <hotpatch/patch.h>

/* Version 2 of both: the same values, + 2 instead of + 1. */
long alpha_v2(long x) {
  volatile long version = 2;
  return 1000 * x + version;
}
long beta_v2(long x) {
  volatile long version = 2;
  return 3000 * x + version;
}

HOTPATCH_ID("kill-fix");
HOTPATCH_DESCRIPTION("kill_every_step: alpha and beta, version 2");
HOTPATCH_REPLACE(alpha, alpha_v2);
HOTPATCH_REPLACE(beta, beta_v2);

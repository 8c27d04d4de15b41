#include <hotpatch/patch.h>

int compute_v3(int x) {
  volatile int factor = 100;
  return x * factor;
}

HOTPATCH_ID("pidns-fix");
HOTPATCH_DESCRIPTION("hostile_pid_namespace: compute multiplies by 100");
HOTPATCH_REPLACE(compute, compute_v3);

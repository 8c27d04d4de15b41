/* Replaces libc's rand. The replacement must not call rand itself (it would land
 * on the jump to itself). */
#include <hotpatch/patch.h>

int rand_v2(void) {
  volatile int roll = 4; /* chosen by fair dice roll */
  return roll;
}

HOTPATCH_ID("fair-dice");
HOTPATCH_DESCRIPTION("libc_function: rand returns 4");
HOTPATCH_REPLACE(rand, rand_v2);

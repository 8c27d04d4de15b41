#include <stdio.h>

#include <hotpatch/patch.h>

extern void (*volatile handler)(void);
extern int armed;

/* A function only the patch has, stored as the program's callback: the program
 * calls it through that pointer after the revert too. `calls` is the patch's own
 * data: a fresh copy of the patch starts it at 0 again. */
static void fixed_handler(void) {
  static int calls;
  printf("handler=fixed calls=%d\n", ++calls);
}

void arm_v2(void) {
  armed += 1;
  handler = fixed_handler;
}

HOTPATCH_ID("fix-arm");
HOTPATCH_REPLACE(arm, arm_v2);

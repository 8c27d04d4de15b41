#include <hotpatch/patch.h>

extern const char *volatile action;
extern int entered;

/* The literal exists only in the patch: the pointer stored in `action` points into
 * the patch's mapping, and outlives the revert until enter() runs again. */
void enter_v2(void) {
  entered += 1;
  action = "in the fixed loop";
}

HOTPATCH_ID("fix-enter");
HOTPATCH_REPLACE(enter, enter_v2);

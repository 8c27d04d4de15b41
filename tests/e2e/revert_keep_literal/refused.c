#include <hotpatch/patch.h>

extern const char *volatile action;
extern int entered;

void enter_v3(void) {
  entered += 1;
  action = "never live";
}

static int refuse(void) { return 3; }

HOTPATCH_ID("refused-enter");
HOTPATCH_REPLACE(enter, enter_v3);
HOTPATCH_PRE_APPLY(refuse);

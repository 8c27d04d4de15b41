/* The hook file of the fix: the shadow id its code uses, and callbacks that write
 * to the program's log which version of handle() answers at their point. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <hotpatch/patch.h>

#include "conn.h"

#define CONN_SEEN 0x5345454eul
HOTPATCH_SHADOW_ID(CONN_SEEN);

HOTPATCH_REF(int *, log_fd, "hook_log_fd");
typedef int (*handle_type)(struct conn *);
HOTPATCH_REF(handle_type, handle_fn, "handle");
HOTPATCH_REF(struct conn **, all_conns, "conns");

static struct conn probe; /* an object of the patch's own, for a probing call */

static void say(const char *what) {
  char line[160];
  /* Through the entry of handle(): which version answers now. */
  int r = handle_fn(&probe);
  int n = snprintf(line, sizeof line, "hook %s: handle answers %d, conns[0]->fd=%d\n", what, r, all_conns[0]->fd);
  if (write(*log_fd, line, (size_t)n) < 0) {}
}

static int pre_apply(void) { say("pre-apply"); return 0; }
static void post_apply(void) { say("post-apply"); }
static void pre_revert(void) { say("pre-revert"); }
static void post_revert(void) { say("post-revert"); }

HOTPATCH_PRE_APPLY(pre_apply);
HOTPATCH_POST_APPLY(post_apply);
HOTPATCH_PRE_REVERT(pre_revert);
HOTPATCH_POST_REVERT(post_revert);

#include "conn.h"

struct conn *conns[CONNS];
int hook_log_fd = -1;

/* Unpatched: returns 1. The fix counts each connection's calls in a field the
 * struct does not have, and returns 2 on its first call, then 3. */
int handle(struct conn *c) {
  __atomic_add_fetch(&c->requests, 1, __ATOMIC_RELAXED);
  return 1;
}

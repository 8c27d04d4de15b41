/* Callbacks at each point of apply and revert. Each one writes to the target's
 * stdout what compute(7) answers at that moment (through the function's entry:
 * old or new code), after taking the program's big_lock (held by a worker thread
 * most of the time) and seeing the worker make progress meanwhile. The pre-apply
 * callback refuses with 7 while the file REFUSE_FILE exists. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <hotpatch/patch.h>

HOTPATCH_ID("hooks-fix");
typedef int (*compute_type)(int);
HOTPATCH_REF(compute_type, compute_fn, "compute");
HOTPATCH_REF(pthread_mutex_t *, big_lock, "big_lock");
HOTPATCH_REF(volatile long *, rounds, "worker_rounds");

static int compute_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}
HOTPATCH_REPLACE(compute, compute_v2);

static void say(const char *point) {
  long before = *rounds;
  pthread_mutex_lock(big_lock); /* held by the worker: we wait for it to let go */
  pthread_mutex_unlock(big_lock);
  while (*rounds < before + 2) usleep(1000); /* the program runs meanwhile */
  /* Which thread runs it: one of the runtime's own, never a program thread that
   * could hold big_lock itself (it would wait for itself forever). */
  char thread[32] = "?";
  pthread_getname_np(pthread_self(), thread, sizeof thread);
  char line[160];
  int n = snprintf(line, sizeof line, "callback %s: compute(7)=%d on %s\n", point, compute_fn(7), thread);
  if (write(1, line, (size_t)n) < 0) {}
}

static int pre_apply(void) {
  if (access(REFUSE_FILE, F_OK) == 0) {
    say("pre-apply refusing");
    return 7;
  }
  say("pre-apply");
  return 0;
}
static void post_apply(void) { say("post-apply"); }
static void pre_revert(void) { say("pre-revert"); }
static void post_revert(void) { say("post-revert"); }

HOTPATCH_PRE_APPLY(pre_apply);
HOTPATCH_POST_APPLY(post_apply);
HOTPATCH_PRE_REVERT(pre_revert);
HOTPATCH_POST_REVERT(post_revert);

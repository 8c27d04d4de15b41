/* A patch whose constructor (run by the remote dlopen, on the borrowed thread)
 * blocks both notice signals on that thread: the pad's notice then cannot stop the
 * thread before its rt_sigreturn, which restores the thread's own mask. */
#include <signal.h>

#include <hotpatch/patch.h>

__attribute__((constructor)) static void block_notices(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGURG);
  sigaddset(&set, SIGWINCH);
  sigprocmask(SIG_BLOCK, &set, 0);
}

int compute_v3(int x) {
  volatile int factor = 10;
  return x * factor;
}

HOTPATCH_ID("fix-compute-blocking");
HOTPATCH_REPLACE(compute, compute_v3);

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

static volatile sig_atomic_t poked;
static void on_usr1(int sig) { (void)sig; poked = 1; }

int main(void) {
  int last = 0;
  struct sigaction sa = {.sa_handler = on_usr1};
  sigaction(SIGUSR1, &sa, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);
  enter();
  for (;;) {
    /* Reads the pointer the last enter() stored; enter() runs only when poked, so
       the pointer lives on across an apply or a revert, as nginx's c->log->action. */
    printf("action=%s len=%zu step=%d\n", action, strlen(action), entered - last);
    last = entered;
    if (poked) {
      poked = 0;
      enter();
    }
    usleep(20000);
  }
}

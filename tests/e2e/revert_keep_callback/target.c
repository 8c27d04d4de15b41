/* revert_keep_callback target: arm() runs once per SIGUSR1 and stores the handler
 * the loop calls every 20 ms (nginx: ev->handler = fn). */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

void default_handler(void) { printf("handler=default\n"); }

void (*volatile handler)(void) = default_handler;
int armed;
static volatile sig_atomic_t pending;

static void on_usr1(int sig) {
  (void)sig;
  pending = 1;
}

__attribute__((noipa)) void arm(void) {
  armed += 1;
  handler = default_handler;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGUSR1, on_usr1);
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    if (pending) {
      pending = 0;
      arm();
    }
    handler();
    usleep(20000);
  }
}

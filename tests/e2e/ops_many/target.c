/* ops_many target: a small "service". Prints "pid=P compute(7)=N" every 20 ms.
 * On SIGUSR1 it forks a worker, which writes to ARGV[1].PID, says
 * "worker ready pid=P" there and runs the same loop (as a new nginx worker would).
 * NONCE (a random string from the scenario) makes this build's build-id unique on
 * the machine, so `-p all` finds this case's processes and no one else's. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef NONCE
#error "build with -DNONCE='\"...\"'"
#endif
const char *volatile nonce = NONCE;

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static volatile sig_atomic_t fork_requested;
static void on_usr1(int sig) { (void)sig; fork_requested = 1; }

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 2) {
    fprintf(stderr, "usage: %s WORKER_LOG_PREFIX\n", argv[0]);
    return 2;
  }
  signal(SIGUSR1, on_usr1);
  int is_worker = 0;
  printf("ready pid=%d nonce=%s\n", (int)getpid(), nonce);
  for (;;) {
    if (fork_requested && !is_worker) {
      fork_requested = 0;
      pid_t child = fork();
      if (child < 0) {
        printf("BAD fork failed\n");
      } else if (child == 0) {
        char path[4096];
        is_worker = 1;
        snprintf(path, sizeof path, "%s.%d", argv[1], (int)getpid());
        if (!freopen(path, "w", stdout)) abort();
        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("worker ready pid=%d\n", (int)getpid());
      } else {
        printf("forked worker %d\n", (int)child);
      }
    }
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    printf("pid=%d compute(7)=%d\n", (int)getpid(), r);
    usleep(20000);
  }
}

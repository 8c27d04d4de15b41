/* fork_child target: prints "pid=P compute(7)=N" every 20 ms. On SIGUSR1 it
 * fork()s once; the child sends its output to the file argv[1], says
 * "child ready pid=P" there and goes on with the same loop. Wrong results print
 * BAD. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static volatile sig_atomic_t fork_requested;
static void on_usr1(int sig) { (void)sig; fork_requested = 1; }

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 2) {
    fprintf(stderr, "usage: %s CHILD_LOG\n", argv[0]);
    return 2;
  }
  signal(SIGUSR1, on_usr1);
  int is_child = 0;
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    if (fork_requested && !is_child) {
      fork_requested = 0;
      pid_t child = fork();
      if (child < 0) {
        printf("BAD fork failed\n");
      } else if (child == 0) {
        is_child = 1;
        if (!freopen(argv[1], "w", stdout)) abort();
        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("child ready pid=%d\n", (int)getpid());
      } else {
        printf("forked child %d\n", (int)child);
      }
    }
    int r = compute(7);
    if (r != 21 && r != 70 && r != 700) printf("BAD compute(7)=%d\n", r);
    printf("pid=%d compute(7)=%d\n", (int)getpid(), r);
    usleep(20000);
  }
}

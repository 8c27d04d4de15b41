/* hostile_commit_failure target: prints "tick N alpha=A beta=B" every 20 ms, where
 * alpha() and beta() return 1 unpatched and 2 patched. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

__attribute__((noipa)) int alpha(void) {
  volatile int v = 1;
  return v;
}

__attribute__((noipa)) int beta(void) {
  volatile int v = 1;
  return v;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready pid=%d\n", getpid());
  for (unsigned long n = 0;; n++) {
    printf("tick %lu alpha=%d beta=%d\n", n, alpha(), beta());
    struct timespec d = {0, 20 * 1000000L};
    nanosleep(&d, NULL);
  }
}

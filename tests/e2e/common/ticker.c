/* A plain target for cases about the tool itself (a faulting patch, a hostile
 * environment, a stuck registry, a dying helper), not about the code it patches:
 * prints "ready pid=P", then "tick compute=N" every 50 ms. compute(x) is 3*x; the
 * volatile keeps its body longer than a jump, noipa keeps every call going through
 * the symbol. Built by those cases from $E2E_DIR/common/ticker.c. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready pid=%d\n", getpid());
  for (;;) {
    printf("tick compute=%d\n", compute(7));
    struct timespec d = {0, 50 * 1000000L};
    nanosleep(&d, NULL);
  }
}

/* revert_all target: every 20 ms prints "compute(7)=R version=V".
 * Original: R=21, V=1. p1: compute 10x; p2 (on top of p1): compute 100x;
 * p3: version 3. Anything else is BAD. */
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

__attribute__((noipa)) int version(void) {
  volatile int v = 1, zero = 0;
  return v + zero;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    int r = compute(7), v = version();
    if ((r != 21 && r != 70 && r != 700) || (v != 1 && v != 3))
      printf("BAD compute(7)=%d version=%d\n", r, v);
    printf("compute(7)=%d version=%d\n", r, v);
    usleep(20000);
  }
}

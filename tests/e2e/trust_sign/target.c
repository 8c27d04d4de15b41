/* trust_sign target (basic_pie's): every 20 ms prints compute(7). The original computes 3*x,
 * the patch 10*x; any other value, for any input, is a "BAD" line. */
#include <stdio.h>
#include <unistd.h>

/* noipa: no inlining, cloning or constant propagation, so every call really goes
 * through the symbol `compute`. The volatile keeps the body longer than a jump. */
__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    for (int x = 0; x < 100; x++) {
      int r = compute(x);
      if (r != 3 * x && r != 10 * x) printf("BAD compute(%d)=%d\n", x, r);
    }
    printf("compute(7)=%d\n", compute(7));
    usleep(20000);
  }
}

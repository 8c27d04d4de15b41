/* endbr64 target, built with -fcf-protection=full: compute() starts with endbr64.
 * Calls it directly and through a function pointer (an indirect call lands on the
 * endbr64, so the jump must be written after it or replace it correctly). */
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

int (*volatile compute_ptr)(int) = compute;

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    int d = compute(7), i = compute_ptr(7);
    if ((d != 21 && d != 70) || (i != 21 && i != 70)) printf("BAD direct=%d indirect=%d\n", d, i);
    printf("direct=%d indirect=%d\n", d, i);
    usleep(20000);
  }
}

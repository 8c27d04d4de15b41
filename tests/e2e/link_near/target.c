/* link_near target: `counter` is static, so a patch can only reach it the way the
 * target's own code does: PC-relatively, from within ±2 GiB. */
#include <stdio.h>
#include <unistd.h>

static int counter;

__attribute__((noipa)) int compute(int x) {
  counter += 1;
  volatile int factor = 3;
  return x * factor;
}

__attribute__((noipa)) int read_counter(void) { return counter; }

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    int before = read_counter();
    int r = compute(7);
    int step = read_counter() - before;
    if (!((r == 21 && step == 1) || (r == 35 && step == 1000))) printf("BAD compute(7)=%d step=%d\n", r, step);
    printf("compute(7)=%d step=%d\n", r, step);
    usleep(20000);
  }
}

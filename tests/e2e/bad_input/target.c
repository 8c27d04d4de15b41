/* bad_input target: every 20 ms prints compute(7)=21 (70 with good.so) and calls
 * tiny(), a function too short to hold a jump. */
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

__attribute__((noipa)) void tiny(void) {}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    int r = compute(7);
    tiny();
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    printf("compute(7)=%d\n", r);
    usleep(20000);
  }
}

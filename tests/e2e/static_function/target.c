/* static_function target: the function to patch is `static` (only in .symtab,
 * not exported). Every 20 ms prints price_of(7): 3*x originally, 10*x patched. */
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) static int price_of(int x) {
  volatile int factor = 3;
  return x * factor;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    for (int x = 0; x < 100; x++) {
      int r = price_of(x);
      if (r != 3 * x && r != 10 * x) printf("BAD price_of(%d)=%d\n", x, r);
    }
    printf("price_of(7)=%d\n", price_of(7));
    usleep(20000);
  }
}

/* libc_function target: calls libc's rand() (a plain FUNC, not an IFUNC) right
 * after srand(42), so the original always gives the same number. The patch makes
 * rand() return 4; anything else is BAD. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  srand(42);
  int original = rand();
  printf("ready pid=%d original=%d\n", (int)getpid(), original);
  for (;;) {
    srand(42);
    int r = rand();
    if (r != original && r != 4) printf("BAD rand()=%d\n", r);
    printf("rand()=%d\n", r);
    usleep(20000);
  }
}

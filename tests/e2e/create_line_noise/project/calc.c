#include <assert.h>

int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

/* Below compute: when compute grows by a line, the line number in its assert
 * moves, and the compiled code differs only in that number. */
int checked(int x) {
  assert(x < 1000000);
  return x + 1;
}

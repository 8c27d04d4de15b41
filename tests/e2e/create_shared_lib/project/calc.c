#include "calc.h"

int calc_bias = 0;  /* global: the library's code reaches it through the GOT */
static int calls;   /* file-local: its count must continue across the patch */

int calc_twice(int x) { return 2 * x; }

int calc(int x) {
  calls++;
  return x * 3 + calc_bias;
}

int calc_calls(void) { return calls; }

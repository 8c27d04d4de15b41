#include <stdio.h>
#include "calc.h"

/* Both functions in one section, as some projects do for hot paths: a call from
 * one to the other is resolved by the assembler and carries no relocation. */
#define HOT __attribute__((section(".text.hot_calc")))

static int calls;

HOT __attribute__((noinline)) static int scale(int x) {
  return x * 3;
}

HOT int compute(int x) {
  calls++;
  return scale(x);
}

const char *label(void) {
  static char buf[64];
  snprintf(buf, sizeof buf, "calls=%d", calls);
  return buf;
}

#include <stdio.h>
#include <string.h>
#include "calc.h"

static int calls;

static int scale(int x) {
  return x * 3;
}

int compute(int x) {
  calls++;
  return scale(x);
}

const char *label(void) {
  static char buf[64];
  snprintf(buf, sizeof buf, "calls=%d", calls);
  return buf;
}

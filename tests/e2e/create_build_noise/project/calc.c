#include "calc.h"

static int calls;

int compute(int x) {
  calls++;
  return x * 3;
}

const char *banner(void) {
  return "built " __DATE__ " " __TIME__ " stamp " BUILD_STAMP;
}

#include "calc.h"

static int calls;

int compute(int x) {
  calls++;
  return x * 3;
}

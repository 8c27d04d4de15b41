#include "ids.h"

int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

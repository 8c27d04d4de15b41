#include "calc.h"

/* Global in the object, hidden: the linked program has it as a local symbol. */
__attribute__((noinline)) int util_scale(int x) {
  volatile int factor = 3;
  return x * factor;
}

int util_version(void) {
  return 1;
}

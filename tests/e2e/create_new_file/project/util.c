#include "calc.h"

int util_calls;

/* A file-local function whose name the fix's new file uses for its own. */
__attribute__((noinline)) static int helper(int x) {
  return x + 1;
}

int util_version(void) {
  util_calls++;
  return helper(0);
}

#include <stdio.h>
#include "../calc.h"
int main(void) {
  int ok = compute(1) == 3;
  printf("%s\n", ok ? "ok" : "FAILED");
  return !ok;
}

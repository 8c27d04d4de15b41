#include <stdio.h>

static int calls;

int over(int x) {
  calls++;
  return x > 15;
}

#include <stdio.h>
#include <unistd.h>
#include "calc.h"
int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    printf("compute(7)=%d %s\n", compute(7), label());
    usleep(50000);
  }
}

#include <stdio.h>
#include <unistd.h>
#include "calc.h"
int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    printf("compute(7)=%d version=%d\n", compute(7), util_version());
    usleep(50000);
  }
}

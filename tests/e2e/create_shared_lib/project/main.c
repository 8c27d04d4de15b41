#include <stdio.h>
#include <unistd.h>

#include "calc.h"

int main(void) {
  /* The program writes the library's global: a copy relocation moves it into the
   * program, and the library's own code (through its GOT) uses that copy. */
  calc_bias = 1000;
  for (;;) {
    int r = calc(7);
    printf("calc(7)=%d calls=%d\n", r, calc_calls());
    fflush(stdout);
    usleep(20000);
  }
}

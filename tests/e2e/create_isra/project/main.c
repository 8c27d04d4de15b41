#include <stdio.h>
#include <unistd.h>
#include "stats.h"
int main(void) {
  struct sample s = {"s", 3, 10, {0}};
  for (;;) {
    printf("report=%ld\n", report(&s));
    fflush(stdout);
    usleep(20000);
  }
}

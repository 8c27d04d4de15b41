#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "conn.h"
int main(void) {
  struct conn *c = calloc(1, sizeof *c);
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    printf("bytes=%ld\n", account(c, 10));
    usleep(50000);
  }
}

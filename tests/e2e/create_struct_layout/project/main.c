#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "conn.h"
void *timer_new(long id);
long timer_timeout(void *data);
int main(void) {
  struct conn *c = calloc(1, sizeof *c);
  void *t = timer_new(7);
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    printf("bytes=%ld timeout=%ld\n", account(c, 10), timer_timeout(t));
    usleep(50000);
  }
}

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "calc.h"
#include "version.h"
int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("%s, version %s\n", banner(), VERSION_TIME);
  for (;;) {
    printf("compute(7)=%d banner=%zu\n", compute(7) + offset(), strlen(banner()));
    usleep(50000);
  }
}

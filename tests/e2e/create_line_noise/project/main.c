#include <stdio.h>
#include <unistd.h>
int compute(int x);
int checked(int x);
int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    printf("compute(7)=%d checked(7)=%d\n", compute(7), checked(7));
    usleep(30000);
  }
}

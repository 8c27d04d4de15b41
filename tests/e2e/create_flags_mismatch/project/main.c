#include <stdio.h>
#include <unistd.h>
int compute(int x);
int scale(int x) { return x * 2; }
int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    printf("compute(7)=%d\n", compute(7));
    usleep(50000);
  }
}

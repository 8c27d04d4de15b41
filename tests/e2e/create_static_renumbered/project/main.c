#include <stdio.h>
#include <unistd.h>
int ticks(void);
int hundreds(void);
int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    int t = ticks();
    printf("ticks=%d hundreds=%d\n", t, hundreds());
    usleep(50000);
  }
}

#include <stdio.h>
#include <unistd.h>
extern void (*next_handler)(void);
extern int steps;
void start(void);
int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  start();
  for (;;) {
    next_handler();
    printf("steps=%d\n", steps);
    usleep(50000);
  }
}

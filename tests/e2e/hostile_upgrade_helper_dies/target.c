/* hostile_upgrade_helper_dies target: prints "tick compute=N" every 50 ms. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready pid=%d\n", getpid());
  for (;;) {
    printf("tick compute=%d\n", compute(7));
    struct timespec d = {0, 50 * 1000000L};
    nanosleep(&d, NULL);
  }
}

/* hostile_mount_namespace_load target: prints compute(7) every 50 ms. */
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("started\n");
  for (;;) {
    printf("compute(7)=%d\n", compute(7));
    usleep(50000);
  }
}

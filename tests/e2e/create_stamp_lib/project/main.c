#include <stdio.h>
#include <unistd.h>
int v_step(int x);
int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    printf("v_step(3)=%d\n", v_step(3));
    usleep(50000);
  }
}

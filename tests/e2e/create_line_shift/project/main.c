#include <stdio.h>
#include <unistd.h>
int over(int x);
int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    printf("over(16)=%d\n", over(16));
    usleep(50000);
  }
}

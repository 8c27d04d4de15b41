#include <stdio.h>
#include <unistd.h>
int over_limit(int x);
int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    printf("over_limit(7)=%d\n", over_limit(7));
    usleep(50000);
  }
}

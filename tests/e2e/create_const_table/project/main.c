#include <stdio.h>
#include <unistd.h>
int rate_a(int i);
int rate_b(int i);
int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    printf("a=%d b=%d\n", rate_a(3), rate_b(3));
    usleep(50000);
  }
}

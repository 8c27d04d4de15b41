/* shared_library target: calls calc() of libcalc.so directly and through
 * calc_total() inside the library. Originally calc(x)=3x, patched 10x. */
#include <stdio.h>
#include <unistd.h>

int calc(int x);
int calc_total(int n);

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    int a = calc(7), b = calc_total(3); /* 3*(1+2+3)=18 or 10*6=60 */
    if (!((a == 21 && b == 18) || (a == 70 && b == 60)))
      printf("BAD calc(7)=%d calc_total(3)=%d\n", a, b);
    printf("calc(7)=%d calc_total(3)=%d\n", a, b);
    usleep(20000);
  }
}

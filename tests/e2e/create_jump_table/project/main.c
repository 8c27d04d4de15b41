#include <stdio.h>
#include <unistd.h>

int dispatch(int op, int x);

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    /* every case, through the table */
    long sum = 0;
    for (int op = 0; op < 12; op++) sum += dispatch(op, 7);
    printf("dispatch(3,7)=%d dispatch(11,7)=%d sum=%ld\n", dispatch(3, 7), dispatch(11, 7), sum);
    usleep(50000);
  }
}

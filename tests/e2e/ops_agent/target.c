/* ops_agent target: its very first action in main is a call of compute(), printed
 * as "first compute(7)=N": 21 unpatched, 70 patched. A patch applied before main
 * ran shows in that line. Then "compute(7)=N" every 20 ms. NONCE makes the
 * build-id this case's own (the agent sees every process on the machine). */
#include <stdio.h>
#include <unistd.h>

#ifndef NONCE
#error "build with -DNONCE='\"...\"'"
#endif
const char *volatile nonce = NONCE;

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

int main(void) {
  int first = compute(7);
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("first compute(7)=%d pid=%d\n", first, (int)getpid());
  for (;;) {
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    printf("compute(7)=%d\n", r);
    usleep(20000);
  }
}

/* hostile_mount_namespace target, built twice: as it is, and with -DSHIFTED, which
 * puts a large function before compute() so that compute() lies elsewhere in the
 * file. Prints "started", then compute(7) every 50 ms. hostile_mount_namespace_load
 * builds it as it is. */
#include <stdio.h>
#include <unistd.h>

#ifdef SHIFTED
__attribute__((noipa)) int shifted_by(int x) {
  volatile int a[256];
  for (int i = 0; i < 256; i++) a[i] = i * x;
  int s = 0;
  for (int i = 0; i < 256; i++) s += a[i] ^ (s >> 3);
  for (int i = 0; i < 256; i++) a[i] = s - i;
  for (int i = 0; i < 256; i++) s += a[i] * (i | 1);
  return s;
}
#endif

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("started\n");
#ifdef SHIFTED
  if (shifted_by(1) == 42) printf("unlikely\n");
#endif
  for (;;) {
    printf("compute(7)=%d\n", compute(7));
    usleep(50000);
  }
}

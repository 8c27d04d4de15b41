/* ops_agent: a program that uses libsvc.so; its first action in main is a call of
 * scale(), printed as "first scale(7)=N" (14 unpatched, 140 patched). */
#include <stdio.h>
#include <unistd.h>

int scale(int x);

int main(void) {
  int first = scale(7);
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("first scale(7)=%d pid=%d\n", first, (int)getpid());
  for (;;) {
    printf("scale(7)=%d\n", scale(7));
    usleep(20000);
  }
}

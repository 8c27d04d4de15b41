/* apply_pointer_on_stack target: main keeps the address of compute() in a local
 * (a callback, as a C++ std::function keeps its invoker's): a stack word equal to
 * compute's first byte, for as long as the program runs. Every 20 ms it prints
 * compute(7) through the pointer and directly. */
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

int main(void) {
  int (*volatile callback)(int) = compute; /* volatile: kept in main's frame */
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    printf("via=%d direct=%d\n", callback(7), compute(7));
    usleep(20000);
  }
}

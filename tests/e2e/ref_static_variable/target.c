/* ref_static_variable target: tick() adds 1 to a file-scope `static int counter`
 * and returns it. The patch's tick adds 1000 to the SAME variable (HOTPATCH_REF).
 * Every 20 ms prints "tick=N step=D"; BAD if the value returned is not what the
 * target's own counter holds, or the step is not 1 or 1000 (e.g. the patch
 * counting from a fresh copy would make the value jump back). */
#include <stdio.h>
#include <unistd.h>

static int counter;

__attribute__((noipa)) int tick(void) {
  counter += 1;
  return counter;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready pid=%d\n", (int)getpid());
  int prev = 0;
  for (;;) {
    int v = tick();
    int seen = *(volatile int *)&counter;
    int step = v - prev;
    if (seen != v) printf("BAD tick()=%d but counter=%d\n", v, seen);
    if (step != 1 && step != 1000) printf("BAD step %d (from %d to %d)\n", step, prev, v);
    printf("tick=%d step=%d\n", v, step);
    prev = v;
    usleep(20000);
  }
}

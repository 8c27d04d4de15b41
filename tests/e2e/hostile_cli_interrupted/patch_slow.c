/* A patch whose constructor takes 4 s: the remote dlopen of it lasts that long. */
#include <time.h>

#include <hotpatch/patch.h>

__attribute__((constructor)) static void slow_start(void) {
  struct timespec d = {4, 0};
  while (nanosleep(&d, &d) != 0) {
  }
}

int compute_slow(int x) {
  volatile int factor = 100;
  return x * factor;
}

HOTPATCH_ID("slow");
HOTPATCH_DESCRIPTION("hostile_cli_interrupted: a constructor that sleeps 4 s");
HOTPATCH_REPLACE(compute, compute_slow);

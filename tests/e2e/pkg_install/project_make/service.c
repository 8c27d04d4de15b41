/* A cooperative service in C: registers `level` and prints it every 20 ms. */
#include <hotpatch/hotpatch_c.h>

#include <stdio.h>
#include <unistd.h>

static int32_t level = 1;

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (hotpatch_init_server() != 0 || hotpatch_register_int32("level", &level) != 0) {
    printf("BAD cannot start the control server: %s\n", hotpatch_last_error());
    return 1;
  }
  for (;;) {
    printf("level=%d\n", *(volatile int32_t *)&level);
    usleep(20000);
  }
}

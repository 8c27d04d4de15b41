#include <stdio.h>
#include <unistd.h>
#include "feats.h"
int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    printf("inl=%d local=%d greet=%s newg=%d checked=%d scaled=%d\n", use_inlined(4), with_static_local(), greet(),
           uses_new_global(), checked(2), scaled(5));
    usleep(30000);
  }
}

#include <stdio.h>
#include <unistd.h>

#include "ev.h"

int main(void) {
  int last = 0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  next_handler = on_event;
  for (;;) {
    next_handler();
    /* The stored handler must be the program's on_event (whose entry jumps to the
       newest code), never a patch's copy. */
    printf("step=%d stored=%s\n", steps - last, next_handler == on_event ? "on_event" : "other");
    last = steps;
    usleep(50000);
  }
}

#include <stdlib.h>

/* Private to this file; the rest of the program holds a void pointer. */
struct timer {
  long id;
  long timeout;
};

void *timer_new(long id) {
  void *t = calloc(1, sizeof(struct timer));
  ((struct timer *)t)->id = id;
  ((struct timer *)t)->timeout = 1000;
  return t;
}

long timer_timeout(void *data) {
  return ((struct timer *)data)->timeout;
}

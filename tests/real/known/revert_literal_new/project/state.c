#include "state.h"

/* As nginx's c->log->action: a pointer to a string literal, stored in data that
   outlives the call that set it. */
const char *action = "starting";
int entered;

void enter(void) {
  entered += 1;
  action = "in the loop";
}

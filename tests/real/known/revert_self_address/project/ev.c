#include "ev.h"

/* As nginx's event handlers: a handler re-arms itself (c->read->handler = fn). */
void (*next_handler)(void);
int steps;

void on_event(void) {
  steps += 1;
  next_handler = on_event;
}

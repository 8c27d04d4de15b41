void (*next_handler)(void);
int steps;

void on_event(void) {
  steps += 1;
  next_handler = on_event;
}

void start(void) {
  next_handler = on_event;
}

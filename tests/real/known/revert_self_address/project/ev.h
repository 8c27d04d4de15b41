extern void (*next_handler)(void);
extern int steps;
void on_event(void);

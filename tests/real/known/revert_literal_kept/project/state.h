extern const char *action;
extern int entered;
void enter(void);

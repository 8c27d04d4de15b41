int compute(int x);
const char *label(void);

int compute(int x);
const char *banner(void);
int offset(void);

int compute(int x);
int util_version(void);
int util_scale(int x);

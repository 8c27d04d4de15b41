int compute(int x);
int util_version(void);

int compute(int x);
int util_double(int x);

/* libcalc.so: the library the shared_library target links against. */
__attribute__((noipa)) int calc(int x) {
  volatile int factor = 3;
  return x * factor;
}

/* Calls calc from inside the library: a patched calc must be seen here too. */
int calc_total(int n) {
  int sum = 0;
  for (int i = 1; i <= n; i++) sum += calc(i);
  return sum;
}

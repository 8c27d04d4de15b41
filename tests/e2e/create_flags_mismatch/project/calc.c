int scale(int x);

int compute(int x) {
  if (x > 1000) return 0;
  return scale(x * 3 + 1);
}

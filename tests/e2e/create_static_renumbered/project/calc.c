int ticks(void) {
  static int n;
  return ++n;
}

int hundreds(void) {
  static int n;
  n += 100;
  return n;
}

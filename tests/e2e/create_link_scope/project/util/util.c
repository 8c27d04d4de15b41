static int uses;

int util_double(int x) {
  uses++;
  return 2 * x;
}

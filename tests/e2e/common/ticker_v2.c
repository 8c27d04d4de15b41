/* The library cases load (`lib load`) and switch their target's compute() (3*x, as
 * in common/ticker.c) to with `func upgrade`: compute_v2(x) is 10*x, so a ticker's
 * lines read "tick compute=70" once the upgrade is in place. */
int compute_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

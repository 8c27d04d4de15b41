/* The library the cases built on common/ticker.c load (`lib load`) and switch
 * ticker's compute() to with `func upgrade`: compute_v2(x) is 10*x, so the ticks
 * read "tick compute=70" once the upgrade is in place. */
int compute_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

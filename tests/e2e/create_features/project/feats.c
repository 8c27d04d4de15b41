#include <stdio.h>
#include <stdlib.h>
#include "feats.h"

/* Small and static: inlined into its caller, so it has no symbol of its own. */
static inline int helper(int x) { return x + 1; }
int use_inlined(int x) { return helper(x) * 2; }

int with_static_local(void) {
  static int n;
  return ++n;
}

const char *greet(void) { return "hello"; }

int uses_new_global(void) { static volatile int zero; return zero; }

__attribute__((noinline, cold, noreturn)) static void fail_hard(int x) {
  fprintf(stderr, "bad input %d\n", x);
  exit(3);
}

/* The error path goes to a .cold part. */
int checked(int x) {
  if (__builtin_expect(x < 0, 0)) fail_hard(x);
  return x * 10;
}

/* Always called with factor 3: GCC clones it as scale.constprop.0. */
__attribute__((noinline)) static int scale(int x, int factor) {
  int r = 0;
  for (int i = 0; i < factor; i++) r += x;
  return r;
}
int scaled(int x) { return scale(x, 3) + 1; }

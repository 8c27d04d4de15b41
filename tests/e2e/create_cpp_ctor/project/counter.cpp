#include "counter.h"
#include <cstdio>
// GCC emits each of these as two names of one body (C1/C2, D1/D2 aliases).
Counter::Counter(int start) : value(start), extra(1) {
  if (start < 0) std::puts("BAD negative start");
}
Counter::~Counter() {
  if (value < -5) std::puts("BAD destroyed below -5");
}
int make_value(int v) {
  Counter c(v);
  return c.value + c.extra;
}

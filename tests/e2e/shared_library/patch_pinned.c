/* The same fix, with lookups pinned to the library (HOTPATCH_OBJECT). */
#include <hotpatch/patch.h>

int calc_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

HOTPATCH_ID("fix-calc-pinned");
HOTPATCH_OBJECT("libcalc.so");
HOTPATCH_REPLACE(calc, calc_v2);

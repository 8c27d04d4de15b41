#include <hotpatch/patch.h>

int price_of_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

HOTPATCH_ID("fix-static");
HOTPATCH_DESCRIPTION("static_function: price_of multiplies by 10");
HOTPATCH_REPLACE(price_of, price_of_v2);

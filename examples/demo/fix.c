/* The live fix for the demo server's total_price(). Build it like any shared
 * object; <hotpatch/patch.h> records which function it replaces:
 *
 *   cc -shared -fPIC -O2 -I include -o fix.so examples/demo/fix.c
 *   hotpatch -p $(pidof server) apply fix.so */
#include <hotpatch/patch.h>

#define UNIT_PRICE 10

int total_price_fixed(int qty) {
  int total = 0;
  for (int i = 0; i < qty; i++) /* fixed: `<` */
    total += UNIT_PRICE;
  return total;
}

HOTPATCH_ID("fix-total-price");
HOTPATCH_DESCRIPTION("DEMO-1: total_price() charged one item too many (<= instead of <)");
HOTPATCH_REPLACE(total_price, total_price_fixed);

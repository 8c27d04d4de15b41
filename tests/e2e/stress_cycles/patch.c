#include <hotpatch/patch.h>

struct pair {
  long a, b;
};

long value_of_v2(long x) {
  volatile long k = 7;
  return x * k + 2;
}

void fill_v2(struct pair *out, long x) {
  out->a = x + 2000;
  out->b = x ^ 0xaaaa;
}

HOTPATCH_ID("stress");
HOTPATCH_DESCRIPTION("stress_cycles: value_of gives 7x+2, fill writes x+2000 and x^0xaaaa");
HOTPATCH_REPLACE(value_of, value_of_v2);
HOTPATCH_REPLACE(fill, fill_v2);

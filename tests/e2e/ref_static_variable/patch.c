#include <hotpatch/patch.h>

/* Filled at apply time with the address of the target's static `counter`. */
HOTPATCH_REF(int *, counter_ref, "counter");

int tick_v2(void) {
  *counter_ref += 1000;
  return *counter_ref;
}

HOTPATCH_ID("tick-by-1000");
HOTPATCH_DESCRIPTION("ref_static_variable: tick adds 1000 to the target's counter");
HOTPATCH_REPLACE(tick, tick_v2);

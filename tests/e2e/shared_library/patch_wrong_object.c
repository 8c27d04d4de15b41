/* Pinned to an object that has no `calc`: must be refused (exit 5). */
#include <hotpatch/patch.h>

int calc_v2(int x) { return x * 10; }

HOTPATCH_ID("fix-calc-wrong-object");
HOTPATCH_OBJECT("libc.so.6");
HOTPATCH_REPLACE(calc, calc_v2);

/* tiny() in the target is a lone `ret`: no room for a jump. */
#include <hotpatch/patch.h>

void tiny_v2(void) {}

HOTPATCH_ID("too-short");
HOTPATCH_REPLACE(tiny, tiny_v2);

#include <hotpatch/patch.h>

void spin_v2(void) {}

HOTPATCH_ID("spin");
HOTPATCH_DESCRIPTION("hostile_cli_interrupted: replaces a function that is always running");
HOTPATCH_REPLACE(spin, spin_v2);

#include <hotpatch/patch.h>

int replacement(int x) { return x; }

HOTPATCH_ID("unknown-symbol");
HOTPATCH_REPLACE(no_such_function_anywhere, replacement);

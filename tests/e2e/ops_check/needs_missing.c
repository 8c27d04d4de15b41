/* Calls a function no object of the target exports: dlopen(RTLD_NOW) refuses it. */
#include <hotpatch/patch.h>

int no_such_function_anywhere(int);

int compute_v4(int x) { return no_such_function_anywhere(x); }

HOTPATCH_ID("needs-missing");
HOTPATCH_REPLACE(compute, compute_v4);

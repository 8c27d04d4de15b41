#include "calc.h"
/* Stamped too, but no fix touches it until util.diff: the first noise build need
   not compile it. */
static const char stamp[] = BUILD_STAMP;
static volatile int zero;
int offset(void) { return zero + (stamp[0] == 0); }

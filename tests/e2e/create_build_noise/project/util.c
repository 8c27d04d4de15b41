#include "calc.h"
/* No noise here: the second build of the unchanged tree need not compile it. */
int offset(void) { return 0; }

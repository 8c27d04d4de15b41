#include "util.h"
int left(int v) { return scale(v) + 1; }

#include "util.h"
int right(int v) { return scale(v) + 2; }

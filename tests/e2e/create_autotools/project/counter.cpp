#include "counter.h"
namespace counter {
static int value;
int next() { return ++value; }
}  // namespace counter

#include "calc.h"

int util_version(void) {
  return 1;
}

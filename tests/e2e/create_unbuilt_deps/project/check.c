#include "policy.h"

int over_limit(int x) {
  return x > LIMIT;
}

#include <policy.h>

static int checks;

int over_limit(int x) {
  checks++;
  return x > LIMIT;
}

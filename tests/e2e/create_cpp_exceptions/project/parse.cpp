#include "parse.h"

#include <stdexcept>
#include <string>

int parse_value(int x) {
  if (x > 100) throw std::out_of_range("too big: " + std::to_string(x));
  return x * 2;
}

int parse_or_default(int x) {
  try {
    return parse_value(x);
  } catch (const std::out_of_range&) {
    return -1;
  }
}

/* A leaf: it clobbers no register but its result. The fixed version throws, so it
 * calls the C++ runtime and clobbers more: it is entered through a stub that keeps
 * the registers its callers rely on, and the exception must pass that stub. */
int scaled(int x) {
  static const int kBias[4] = {0, 10, 20, 30};
  return x * 3 + kBias[x & 3];
}

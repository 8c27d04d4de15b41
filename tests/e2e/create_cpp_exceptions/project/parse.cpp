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

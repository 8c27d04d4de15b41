#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "parse.h"

int main() {
  for (;;) {
    std::string value;
    try {
      value = std::to_string(parse_value(7));
    } catch (const std::exception& e) {
      value = std::string("caught ") + e.what();
    }
    std::string triple;
    try {
      triple = std::to_string(scaled(7));
    } catch (const std::exception& e) {
      triple = std::string("caught ") + e.what();
    }
    std::printf("value=%s default=%d scaled=%s\n", value.c_str(), parse_or_default(50), triple.c_str());
    std::fflush(stdout);
    usleep(20000);
  }
}

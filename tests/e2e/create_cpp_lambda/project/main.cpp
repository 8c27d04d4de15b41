#include <cstdio>
#include <functional>
#include <unistd.h>
std::function<int(int)> make_cb(int k);
int main() {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  // Made before any apply and kept in main's frame (its invoker's address is a stack
  // word all along: a pointer, not a frame of the invoker, e2e/apply_pointer_on_stack).
  std::function<int(int)> stored = make_cb(1);
  for (;;) {
    std::printf("stored=%d fresh=%d\n", stored(1), make_cb(2)(1));
    usleep(30000);
  }
}

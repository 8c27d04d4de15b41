#include <cstdio>
#include <functional>
#include <unistd.h>
std::function<int(int)> make_cb(int k);
// Made before any apply and kept. A global, and no std::function on main's stack: the
// apply's stack scan takes an invoker's address left in a stack word for a return
// address into it and waits.
std::function<int(int)> stored;
int main() {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  stored = make_cb(1);
  for (;;) {
    std::printf("stored=%d\n", stored(1));
    usleep(30000);
  }
}

#include <functional>
std::function<int(int)> make_cb(int k) {
  int base = 100;
  return [k, base](int v) { return v + k + base; };
}

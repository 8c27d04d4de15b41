#include "shapes.h"
namespace geo {
int Rect::area() const { return w_ * h_; }
int Rect::perimeter() const { return 2 * (w_ + h_); }
template <typename T> __attribute__((noinline)) T twice(T v) { volatile T k = 2; return v * k; }
int twice_int(int v) { return twice<int>(v) + 0; }
double twice_double(double v) { return twice<double>(v) + 0.0; }
}  // namespace geo

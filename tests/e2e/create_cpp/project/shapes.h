#pragma once
namespace geo {
class Rect {
 public:
  Rect(int w, int h) : w_(w), h_(h) {}
  int area() const;
  int perimeter() const;
 private:
  int w_, h_;
};
template <typename T> T twice(T v);
int twice_int(int v);
double twice_double(double v);
}  // namespace geo

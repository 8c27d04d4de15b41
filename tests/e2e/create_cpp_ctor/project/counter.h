#pragma once
struct Counter {
  explicit Counter(int start);
  ~Counter();
  int value;
  int extra;
};
int make_value(int v);

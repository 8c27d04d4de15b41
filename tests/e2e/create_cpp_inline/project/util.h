// Inline functions: every object that uses one has its own copy (a weak symbol in a
// COMDAT group); the program keeps one.
#pragma once
inline __attribute__((noinline)) int scale(int x) {
  volatile int k = 2;
  return x * k;
}
inline __attribute__((noinline)) int ticks() {
  static int n;  // one counter for the whole program (STB_GNU_UNIQUE)
  return ++n;
}
int left(int v);
int right(int v);

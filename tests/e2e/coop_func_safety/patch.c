// The new versions, loaded with `lib load` and switched in with `func upgrade`.
int entry_v2(int x) { return x * 100; }

// Uses rsi and rdx, which the original scale() leaves alone and combine() relies on.
int scale_v2(int x) {
  int r;
  __asm__ volatile("xor %%esi, %%esi\n\txor %%edx, %%edx" ::: "rsi", "rdx");
  r = x * 4;
  return r;
}

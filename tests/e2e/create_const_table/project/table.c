const int rates[4] = {1, 2, 3, 4};

int rate_a(int i) {
  return rates[i & 3];
}

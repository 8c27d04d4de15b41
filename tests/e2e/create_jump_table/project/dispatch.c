/* A switch GCC compiles to a jump table: entries `.Lcase - table`, relocated
 * against the function's section with addends past the function's end. */
volatile int sink[16];

int dispatch(int op, int x) {
  switch (op) {
    case 0: sink[0] = x + 1; break;
    case 1: sink[1] = x * 3; break;
    case 2: sink[2] = x - 7; break;
    case 3: sink[3] = x ^ 5; break;
    case 4: sink[4] = x << 2; break;
    case 5: sink[5] = x >> 1; break;
    case 6: sink[6] = x | 9; break;
    case 7: sink[7] = x & 6; break;
    case 8: sink[8] = x + 100; break;
    case 9: sink[9] = x * 17; break;
    case 10: sink[10] = -x; break;
    case 11: sink[11] = ~x; break;
    default: return -1;
  }
  return sink[op];
}

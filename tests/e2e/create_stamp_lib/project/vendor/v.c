static int steps;

int v_step(int x) {
  steps++;
  return x + 1;
}

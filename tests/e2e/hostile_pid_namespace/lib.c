/* hostile_pid_namespace: the replacement `func upgrade` switches compute() to. */
int compute_v2(int x) {
  volatile int factor = 10;
  return x * factor;
}

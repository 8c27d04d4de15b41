/* sigstop target: main prints compute(7) every 20 ms (21 original, 70 patched);
 * a second thread just sleeps, so that the stop is a group stop of two threads. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static void *idle(void *arg) {
  for (;;) usleep(10000);
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t t;
  pthread_create(&t, NULL, idle, NULL);
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    printf("compute(7)=%d\n", r);
    usleep(20000);
  }
}

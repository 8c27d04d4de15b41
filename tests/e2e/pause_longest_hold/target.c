/* pause_longest_hold target: the main thread sleeps in a loop (the thread apply
 * borrows for its remote calls: the first one at a safe point); a worker prints
 * compute(7) every 20 ms. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static void *worker(void *arg) {
  printf("worker tid=%ld\n", (long)syscall(SYS_gettid));
  for (;;) {
    printf("compute(7)=%d\n", compute(7));
    usleep(20000);
  }
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  for (;;) usleep(100000);
}

/* create_hooks_points target: compute() is what the patch replaces (3*x -> 10*x).
 * A worker thread holds `big_lock` for 20 ms at a time and counts its rounds: a
 * callback that takes the lock while that thread is stopped holding it would wait
 * forever, one that runs while the program runs gets it between two rounds. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;
volatile long worker_rounds;

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static void *worker(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&big_lock);
    usleep(20000);
    worker_rounds++;
    pthread_mutex_unlock(&big_lock);
    usleep(1000);
  }
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    printf("compute(7)=%d\n", r);
    usleep(20000);
  }
}

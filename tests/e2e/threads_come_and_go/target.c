/* threads_come_and_go target: like a thread-per-request server, the main thread
 * keeps starting short-lived detached threads (at most 16 at a time), each of which
 * calls compute() a few times and exits. Thousands of threads start and end per
 * second, so some are always being created or torn down while the patcher stops
 * the process. Every 20 ms a reporter thread prints compute(7) and how many
 * short-lived threads have finished. Wrong results print BAD. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static sem_t slots;
static volatile unsigned long finished;

static void *short_lived(void *arg) {
  for (int x = 0; x < 10; x++) {
    int r = compute(x);
    if (r != 3 * x && r != 10 * x) printf("BAD compute(%d)=%d in a short-lived thread\n", x, r);
  }
  __atomic_add_fetch(&finished, 1, __ATOMIC_RELAXED);
  sem_post(&slots);
  return NULL;
}

static void *reporter(void *arg) {
  for (;;) {
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    printf("compute(7)=%d threads=%lu\n", r, finished);
    usleep(20000);
  }
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&slots, 0, 16);
  pthread_t t;
  pthread_create(&t, NULL, reporter, NULL);
  printf("ready pid=%d\n", (int)getpid());
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (;;) {
    sem_wait(&slots);
    if (pthread_create(&t, &attr, short_lived, NULL) != 0) {
      printf("BAD pthread_create failed\n");
      sem_post(&slots);
      usleep(1000);
    }
  }
}

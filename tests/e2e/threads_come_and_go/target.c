/* threads_come_and_go target: like a thread-per-request server, the main thread
 * keeps starting short-lived detached threads (at most SLOTS at a time, argv[1],
 * default 16), each of which calls compute() 1 to 19 times (10 on average),
 * sleeping PAUSE_US (argv[2], default 0) after each call, and exits. The counts
 * differ so that lifetimes spread out: with equal lifetimes the threads born
 * together die together, and the live count swings in waves (an apply in a
 * trough stops a third of SLOTS). Thousands of threads start and end per
 * second, so some are always being created or torn down while the patcher stops
 * the process. Every 20 ms a reporter thread prints compute(7), how many
 * short-lived threads have finished and how many are running now. Wrong results
 * print BAD. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static sem_t slots;
static int slot_count = 16;
static unsigned pause_us;
static volatile unsigned long finished;

static void *short_lived(void *arg) {
  int calls = (int)(long)arg;
  for (int x = 0; x < calls; x++) {
    int r = compute(x);
    if (r != 3 * x && r != 10 * x) printf("BAD compute(%d)=%d in a short-lived thread\n", x, r);
    if (pause_us) usleep(pause_us);
  }
  __atomic_add_fetch(&finished, 1, __ATOMIC_RELAXED);
  sem_post(&slots);
  return NULL;
}

static void *reporter(void *arg) {
  for (;;) {
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    int free_slots = 0;
    sem_getvalue(&slots, &free_slots);
    printf("compute(7)=%d threads=%lu live=%d\n", r, finished, slot_count - free_slots);
    usleep(20000);
  }
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 1) slot_count = atoi(argv[1]);
  if (argc > 2) pause_us = (unsigned)atoi(argv[2]);
  sem_init(&slots, 0, (unsigned)slot_count);
  pthread_t t;
  pthread_create(&t, NULL, reporter, NULL);
  printf("ready pid=%d\n", (int)getpid());
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 << 10); /* 1000 of them: keep the footprint small */
  unsigned seed = (unsigned)getpid();
  for (;;) {
    sem_wait(&slots);
    long calls = 1 + rand_r(&seed) % 19;
    if (pthread_create(&t, &attr, short_lived, (void *)calls) != 0) {
      printf("BAD pthread_create failed\n");
      sem_post(&slots);
      usleep(1000);
    }
  }
}

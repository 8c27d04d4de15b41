/* hostile_cli_interrupted target: a worker thread prints "tick compute=N" every
 * 50 ms (compute is what the patches replace); a second thread runs spin() forever,
 * so a patch of spin() can never be applied (it stays busy); the main thread waits
 * in pause() (the thread remote calls borrow). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

volatile unsigned long spins;
__attribute__((noipa)) void spin(void) {
  for (;;) spins++;
}

static void *spinner(void *arg) {
  (void)arg;
  spin();
  return NULL;
}

static void *worker(void *arg) {
  (void)arg;
  for (;;) {
    printf("tick compute=%d\n", compute(7));
    struct timespec d = {0, 50 * 1000000L};
    nanosleep(&d, NULL);
  }
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL) != 0 || pthread_create(&t, NULL, spinner, NULL) != 0) return 1;
  printf("ready pid=%d\n", getpid());
  for (;;) pause();
}

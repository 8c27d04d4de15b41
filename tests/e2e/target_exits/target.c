/* target_exits target: lives for argv[2] ms, then exits with status 0.
 *   target plain MS: three threads call compute() in a loop; main prints compute(7)
 *   target busy MS:  a thread never leaves spin(), so an apply keeps retrying
 *                    until the process is gone. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

__attribute__((noipa)) void spin(void) {
  for (volatile unsigned long i = 0;; i++) {
  }
}

static void *worker(void *arg) {
  for (;;) {
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    usleep(1000);
  }
  return NULL;
}

static void *spinner(void *arg) {
  spin();
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 3) return 2;
  long ms = atol(argv[2]);
  pthread_t t;
  if (strcmp(argv[1], "busy") == 0) {
    pthread_create(&t, NULL, spinner, NULL);
  } else {
    for (int i = 0; i < 3; i++) pthread_create(&t, NULL, worker, NULL);
  }
  printf("ready pid=%d\n", (int)getpid());
  struct timespec end, now;
  clock_gettime(CLOCK_MONOTONIC, &end);
  end.tv_sec += ms / 1000;
  end.tv_nsec += (ms % 1000) * 1000000L;
  if (end.tv_nsec >= 1000000000L) end.tv_sec++, end.tv_nsec -= 1000000000L;
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec)) break;
    printf("compute(7)=%d\n", compute(7));
    usleep(5000);
  }
  printf("exiting\n");
  exit(0);
}

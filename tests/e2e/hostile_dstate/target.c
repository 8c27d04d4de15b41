/* hostile_dstate target: the main thread sits in vfork() (its child sleeps
 * argv[1] seconds before _exit), which the kernel shows as D (uninterruptible):
 * it cannot stop for ptrace until the child is done. A worker thread keeps
 * working: every 10 ms it calls compute(7); every 100 ms it prints the result and
 * the longest gap between two of its iterations since its last line. A tracer
 * that stops every thread and then waits for the vfork parent freezes the worker:
 * the gap shows it. When the vfork returns, the main thread says so. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void *worker(void *arg) {
  long last = now_ms(), line = last, worst = 0;
  printf("worker tid=%ld\n", (long)syscall(SYS_gettid));
  for (;;) {
    int r = compute(7);
    long t = now_ms();
    if (t - last > worst) worst = t - last;
    last = t;
    if (t - line >= 100) {
      printf("compute(7)=%d gap_ms=%ld\n", r, worst);
      worst = 0;
      line = t;
    }
    usleep(10000);
  }
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int seconds = argc > 1 ? atoi(argv[1]) : 6;
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  usleep(300000);
  printf("vfork for %d s\n", seconds);
  pid_t child = vfork();
  if (child == 0) {
    /* Only raw system calls in a vfork child: it runs on the parent's stack. */
    struct timespec ts = {seconds, 0};
    syscall(SYS_nanosleep, &ts, NULL);
    _exit(0);
  }
  printf("vfork returned\n");
  waitpid(child, NULL, 0);
  for (;;) pause();
}

/* P2 target: spin_target THREADS REPORT_FILE
 *
 * THREADS worker threads run a work loop and record, each in its own slot of a
 * shared file (REPORT_FILE, mapped MAP_SHARED; the benchmark maps it too), the
 * longest gap they saw between two iterations beyond the sleep they asked for.
 * The benchmark zeroes the slots just before a stop and reads them afterwards: the
 * largest value is how long the stop held the target's own threads, seen from inside.
 *
 * One thread spins without sleeping (the sharpest view of a pause). With more
 * threads than cores, pure spinning would measure the scheduler's round-robin, not
 * the pause, so each worker sleeps between iterations, with a period chosen so the
 * whole process wakes ~50 000 times per second whatever THREADS is.
 *
 * The main thread calls bench_patch_me() (what the benchmark patches) now and then,
 * and otherwise sleeps, so the function is almost never active during a stop. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct report {
  volatile uint32_t threads_running;
  volatile uint32_t period_us;
  volatile uint64_t patched_calls; /* replies of bench_patch_me seen as patched */
  volatile uint64_t max_gap_ns[];  /* one per worker */
};

static struct report *shared;
static uint64_t period_ns;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Long enough for endbr64 + a 5-byte jump (the volatile counter keeps the compiler
 * from shrinking it to one instruction); the patch returns x + 1000 instead. */
static volatile unsigned original_calls;
__attribute__((noinline)) int bench_patch_me(int x) {
  original_calls++;
  return x + 1;
}

static void *work(void *arg) {
  long index = (long)arg;
  __atomic_add_fetch(&shared->threads_running, 1, __ATOMIC_SEQ_CST);
  uint64_t last = now_ns();
  volatile uint64_t busy = 0;
  for (;;) {
    uint64_t t = now_ns();
    uint64_t gap = t - last;
    gap = gap > period_ns ? gap - period_ns : 0;
    if (gap > shared->max_gap_ns[index]) shared->max_gap_ns[index] = gap;
    last = t;
    for (int i = 0; i < 50; i++) busy += (uint64_t)i * t; /* the "work" */
    if (period_ns) {
      struct timespec ts = {0, (long)period_ns};
      nanosleep(&ts, NULL);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: spin_target THREADS REPORT_FILE\n");
    return 2;
  }
  int threads = atoi(argv[1]);
  if (threads < 1) threads = 1;
  size_t size = sizeof(struct report) + (size_t)threads * sizeof(uint64_t);
  int fd = open(argv[2], O_RDWR);
  if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
    perror("spin_target: report file");
    return 1;
  }
  shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (shared == MAP_FAILED) {
    perror("spin_target: mmap");
    return 1;
  }
  period_ns = threads == 1 ? 0 : (uint64_t)threads * 20000u; /* 50 000 wake-ups per second */
  shared->period_us = (uint32_t)(period_ns / 1000);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024); /* 1000 threads need no 8 MiB each */
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (long i = 0; i < threads; i++) {
    pthread_t t;
    if (pthread_create(&t, &attr, work, (void *)i) != 0) {
      perror("spin_target: pthread_create");
      return 1;
    }
  }
  for (int i = 0;; i++) {
    if (bench_patch_me(i) == i + 1000) shared->patched_calls++;
    usleep(10000);
  }
}

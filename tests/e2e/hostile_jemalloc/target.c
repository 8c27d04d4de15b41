/* hostile_jemalloc target: every thread, the main one too, allocates and frees in
 * a tight loop, so at any moment most of them are inside the allocator, some
 * holding one of its locks. Run with jemalloc preloaded (LD_PRELOAD) or linked in
 * statically: either way it provides `malloc` for the whole process, the dynamic
 * loader's dlopen included. One thread calls compute(7) between allocations and
 * prints it when it changes ("compute=21" unpatched, "compute=70" patched). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 4

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static void churn(unsigned *seed) {
  void *keep[16] = {0};
  for (int i = 0; i < 64; i++) {
    int slot = rand_r(seed) % 16;
    free(keep[slot]);
    size_t size = 16 + rand_r(seed) % (rand_r(seed) % 8 == 0 ? 200000 : 2000);
    keep[slot] = malloc(size);
    if (!keep[slot]) abort();
    memset(keep[slot], 1, size < 64 ? size : 64);
  }
  for (int i = 0; i < 16; i++) free(keep[i]);
}

static void *worker(void *arg) {
  unsigned seed = (unsigned)(unsigned long)arg;
  for (;;) churn(&seed);
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t t;
  for (long i = 1; i < THREADS; i++)
    if (pthread_create(&t, NULL, worker, (void *)i) != 0) abort();
  printf("ready pid=%d\n", getpid());
  unsigned seed = 99;
  int last = -1;
  for (;;) {
    churn(&seed);
    int v = compute(7);
    if (v != last) printf("compute=%d\n", v);
    last = v;
  }
}

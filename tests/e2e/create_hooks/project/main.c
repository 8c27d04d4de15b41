#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conn.h"

static volatile long seen[4];

static void *worker(void *arg) {
  unsigned seed = (unsigned)(long)arg;
  for (;;) {
    int r = handle(conns[rand_r(&seed) % CONNS]);
    if (r < 1 || r > 3) {
      printf("BAD handle returned %d\n", r);
      fflush(stdout);
    } else {
      __atomic_add_fetch(&seen[r], 1, __ATOMIC_RELAXED);
    }
    usleep(200);
  }
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  hook_log_fd = 1;
  for (int i = 0; i < CONNS; i++) {
    conns[i] = calloc(1, sizeof(struct conn));
    conns[i]->tag = 7;
    conns[i]->fd = 100 + i;
  }
  pthread_t t[4];
  for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, (void *)(i + 1));
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    usleep(100000);
    printf("returns v1=%ld first=%ld again=%ld\n", seen[1], seen[2], seen[3]);
  }
}

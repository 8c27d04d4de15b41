/* shadow_struct_field target: a "server" whose connections are structs the patch
 * cannot grow. 8 worker threads call handle() on 64 shared connections; every
 * 100 ms the main thread calls report(). handle() returns 1 unpatched; the patch
 * makes it count, per connection, in a shadow variable, and return 2. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CONNS 64
#define THREADS 8

struct conn {
  int fd;
  long requests; /* the program's own field, kept by both versions */
};

static struct conn *conns[CONNS];
static volatile long calls_seen[3]; /* by return value 1 or 2; anything else is BAD */

__attribute__((noipa)) int handle(struct conn *c) {
  __atomic_add_fetch(&c->requests, 1, __ATOMIC_RELAXED);
  return 1;
}

__attribute__((noipa)) void report(struct conn **all, int n) {
  long total = 0;
  for (int i = 0; i < n; i++) total += __atomic_load_n(&all[i]->requests, __ATOMIC_RELAXED);
  printf("report requests=%ld\n", total);
}

static void *worker(void *arg) {
  unsigned seed = (unsigned)(long)arg;
  for (;;) {
    struct conn *c = conns[rand_r(&seed) % CONNS];
    int r = handle(c);
    if (r != 1 && r != 2) {
      printf("BAD handle returned %d\n", r);
      fflush(stdout);
    } else {
      __atomic_add_fetch(&calls_seen[r], 1, __ATOMIC_RELAXED);
    }
    if ((rand_r(&seed) & 63) == 0) usleep(100);
  }
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 0; i < CONNS; i++) {
    conns[i] = calloc(1, sizeof(struct conn));
    conns[i]->fd = 100 + i;
  }
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)(i + 1));
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    usleep(100000);
    report(conns, CONNS);
    printf("returns v1=%ld v2=%ld\n", calls_seen[1], calls_seen[2]);
  }
}

/* threads_tight_loop target: 8 threads call compute() in a tight loop. Each call
 * must give the old (3x) or the new (10x) result; anything else prints BAD. Each
 * thread publishes which semantics its last call had; every 50 ms the main thread
 * prints "state XXXXXXXX calls=TOTAL each=C0,...,C7" with O (old) or N (new) per
 * thread and each thread's call count. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define NTHREADS 8

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static volatile char state[NTHREADS];
static volatile unsigned long calls[NTHREADS];

static void *worker(void *arg) {
  int id = (int)(long)arg;
  for (unsigned x = 1;; x = (x % 1000) + 1) {
    int r = compute((int)x);
    if (r == 3 * (int)x) {
      state[id] = 'O';
    } else if (r == 10 * (int)x) {
      state[id] = 'N';
    } else {
      printf("BAD thread %d: compute(%u)=%d\n", id, x, r);
      state[id] = '?';
    }
    calls[id]++;
    /* Work outside compute, so that a thread is inside it only part of the time. */
    for (volatile int k = 0; k < 20; k++) {
    }
  }
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t t[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) {
    state[i] = '-';
    pthread_create(&t[i], NULL, worker, (void *)(long)i);
  }
  printf("ready pid=%d threads=%d\n", (int)getpid(), NTHREADS);
  for (;;) {
    char s[NTHREADS + 1], each[NTHREADS * 21] = "";
    unsigned long total = 0;
    size_t used = 0;
    for (int i = 0; i < NTHREADS; i++) {
      s[i] = state[i];
      unsigned long c = calls[i];
      total += c;
      used += (size_t)snprintf(each + used, sizeof each - used, "%s%lu", i ? "," : "", c);
    }
    s[NTHREADS] = 0;
    printf("state %s calls=%lu each=%s\n", s, total, each);
    usleep(50000);
  }
}

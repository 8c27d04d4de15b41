/* stress_cycles target: 32 threads call two patched functions without pause
 * between bursts: value_of() returns a value, fill() writes two fields through a
 * pointer. Every result is checked against both versions, old (3x+1; x+1000,
 * x^0x5555) and new (7x+2; x+2000, x^0xaaaa): one of them is right, anything else
 * (including fill's two fields coming from different versions) is counted as
 * wrong and printed as BAD. Every 5 ms the main thread writes which version each
 * thread saw last, per function, and the running totals, as one line at the start
 * of the state file argv[1] (rewritten in place, so that a run of 10 000 cycles does
 * not grow a log the test would have to read again and again):
 *   seq=S V=<O|N per thread> F=<O|N per thread> calls=N old=N new=N wrong=N end=S
 * seq and end are equal unless the reader caught the line half-written. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NTHREADS 32
/* Calls per burst (~30 us), then a 5 ms sleep: the threads are inside or near
 * the patched functions most of the time they run, yet together use less than a
 * core. 32 threads spinning, or waking every millisecond, starve the hotpatch CLI
 * of CPU on a 2-core machine: each call then takes seconds instead of ~0.1 s. */
#define BURST 1000
#define SLEEP_US 5000

struct pair {
  long a, b;
};

__attribute__((noipa)) long value_of(long x) {
  volatile long k = 3;
  return x * k + 1;
}

__attribute__((noipa)) void fill(struct pair *out, long x) {
  out->a = x + 1000;
  out->b = x ^ 0x5555;
}

static volatile char value_state[NTHREADS], fill_state[NTHREADS];
static unsigned long calls[NTHREADS], old_calls[NTHREADS], new_calls[NTHREADS];
static unsigned long wrong;

static void report_wrong(int id, const char *what, long x, long a, long b) {
  unsigned long n = __atomic_add_fetch(&wrong, 1, __ATOMIC_RELAXED);
  if (n <= 20) printf("BAD thread %d: %s(%ld) gave %ld %ld\n", id, what, x, a, b);
}

static void *worker(void *arg) {
  int id = (int)(long)arg;
  long x = id * 7919;
  for (;;) {
    for (int i = 0; i < BURST; i++, x = (x + 1) & 0xfffff) {
      long v = value_of(x);
      if (v == 3 * x + 1) {
        value_state[id] = 'O';
        __atomic_add_fetch(&old_calls[id], 1, __ATOMIC_RELAXED);
      } else if (v == 7 * x + 2) {
        value_state[id] = 'N';
        __atomic_add_fetch(&new_calls[id], 1, __ATOMIC_RELAXED);
      } else {
        value_state[id] = '?';
        report_wrong(id, "value_of", x, v, 0);
      }
      struct pair p = {-1, -1};
      fill(&p, x);
      if (p.a == x + 1000 && p.b == (x ^ 0x5555)) {
        fill_state[id] = 'O';
        __atomic_add_fetch(&old_calls[id], 1, __ATOMIC_RELAXED);
      } else if (p.a == x + 2000 && p.b == (x ^ 0xaaaa)) {
        fill_state[id] = 'N';
        __atomic_add_fetch(&new_calls[id], 1, __ATOMIC_RELAXED);
      } else {
        fill_state[id] = '?';
        report_wrong(id, "fill", x, p.a, p.b);
      }
      __atomic_add_fetch(&calls[id], 2, __ATOMIC_RELAXED);
    }
    usleep(SLEEP_US);
  }
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 2) {
    fprintf(stderr, "usage: %s STATE_FILE\n", argv[0]);
    return 2;
  }
  int state_fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (state_fd < 0) {
    perror(argv[1]);
    return 2;
  }
  pthread_t t;
  for (int i = 0; i < NTHREADS; i++) {
    value_state[i] = fill_state[i] = '-';
    if (pthread_create(&t, NULL, worker, (void *)(long)i) != 0) {
      printf("BAD pthread_create failed\n");
      return 1;
    }
  }
  printf("ready pid=%d threads=%d\n", (int)getpid(), NTHREADS);
  for (unsigned long seq = 1;; seq++) {
    char v[NTHREADS + 1], f[NTHREADS + 1];
    unsigned long total = 0, olds = 0, news = 0;
    for (int i = 0; i < NTHREADS; i++) {
      v[i] = value_state[i];
      f[i] = fill_state[i];
      total += __atomic_load_n(&calls[i], __ATOMIC_RELAXED);
      olds += __atomic_load_n(&old_calls[i], __ATOMIC_RELAXED);
      news += __atomic_load_n(&new_calls[i], __ATOMIC_RELAXED);
    }
    v[NTHREADS] = f[NTHREADS] = 0;
    char line[256];
    int n = snprintf(line, sizeof line, "seq=%lu V=%s F=%s calls=%lu old=%lu new=%lu wrong=%lu end=%lu", seq, v, f,
                     total, olds, news, __atomic_load_n(&wrong, __ATOMIC_RELAXED), seq);
    /* Fixed length: a shorter line must not leave the tail of a longer one behind. */
    memset(line + n, ' ', sizeof line - 1 - n);
    line[sizeof line - 1] = '\n';
    if (pwrite(state_fd, line, sizeof line, 0) != (ssize_t)sizeof line) printf("BAD cannot write the state file\n");
    usleep(5000);
  }
}

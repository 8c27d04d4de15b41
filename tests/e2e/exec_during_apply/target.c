/* exec_during_apply target: execs itself again and again. Generation G (argv[1])
 * starts 3 threads that call compute() and a reporter that prints
 * "gen=G compute(7)=N" every 10 ms; after 0.2-1.2 s it prints "exec gen=G+1" and
 * calls execv(/proc/self/exe): from the main thread in even generations, from a
 * worker thread (not the thread-group leader) in odd ones. Wrong results print
 * BAD. */
#define _GNU_SOURCE /* gettid */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static int generation;
static char *self_name;

static void check(int r) {
  if (r != 21 && r != 70) printf("BAD gen=%d compute(7)=%d\n", generation, r);
}

static void exec_next(void) {
  char next[16];
  snprintf(next, sizeof next, "%d", generation + 1);
  printf("exec gen=%s from %s\n", next, (long)getpid() == (long)gettid() ? "leader" : "worker");
  execl("/proc/self/exe", self_name, next, (char *)NULL);
  printf("BAD execl failed: %s\n", strerror(errno));
  exit(1);
}

static unsigned lifetime_us(void) {
  unsigned seed = (unsigned)getpid() * 31u + (unsigned)generation * 7919u;
  return 200000 + rand_r(&seed) % 1000000;
}

static void *worker(void *arg) {
  int execs = arg != NULL;
  unsigned waited = 0, life = lifetime_us();
  for (;;) {
    check(compute(7));
    usleep(500);
    waited += 500;
    if (execs && waited >= life) exec_next();
  }
  return NULL;
}

static void *reporter(void *arg) {
  for (;;) {
    int r = compute(7);
    check(r);
    printf("gen=%d compute(7)=%d\n", generation, r);
    usleep(10000);
  }
  return arg;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  generation = argc > 1 ? atoi(argv[1]) : 0;
  self_name = argv[0];
  int worker_execs = generation % 2 == 1;
  pthread_t t;
  pthread_create(&t, NULL, reporter, NULL);
  for (int i = 0; i < 3; i++) pthread_create(&t, NULL, worker, i == 0 && worker_execs ? (void *)1 : NULL);
  printf("ready pid=%d gen=%d\n", (int)getpid(), generation);
  if (worker_execs) {
    for (;;) pause();
  }
  usleep(lifetime_us());
  exec_next();
}

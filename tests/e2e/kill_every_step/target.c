/* kill_every_step target: threads that notice anything a killed hotpatch could break.
 *
 * - 3 callers call alpha() and beta() and check each result: version 1 (original) or
 *   2 (patched) of the same value, anything else is BAD.
 * - a spinner keeps integer and floating-point values live in registers in a tight
 *   loop (it may be the thread a remote call borrows) and checks them.
 * - a reader blocks in read() on a pipe a ticker writes to: read() must always get
 *   its byte (an interrupted read must be restarted, never fail).
 * - a waiter blocks in epoll_wait() on nothing (the kernel never restarts it: an
 *   interrupt the Loader does not undo shows as EINTR), also when the Loader is
 *   killed while every thread is stopped.
 * - the main thread keeps values in callee-saved registers across usleep() (it is
 *   usually the thread a remote call borrows) and prints a tick line with the
 *   versions last seen: "tick N alpha=V beta=V calls=C".
 * On a wrong result it prints "BAD ..." and exits with status 1. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* noipa: no inlining, cloning or constant propagation, so every call really goes
 * through the symbol. The volatile keeps the body longer than a jump. */
__attribute__((noipa)) long alpha(long x) {
  volatile long version = 1;
  return 1000 * x + version;
}
__attribute__((noipa)) long beta(long x) {
  volatile long version = 1;
  return 3000 * x + version;
}

static volatile int last_alpha, last_beta;
static unsigned long calls;
static int pipe_fds[2];

static void bad(const char* what, long x, long got) {
  printf("BAD %s(%ld)=%ld\n", what, x, got);
  fflush(stdout);
  _exit(1);
}

static int version_of(long result, long base) {
  long v = result - base;
  return v == 1 || v == 2 ? (int)v : 0;
}

static void* caller(void* arg) {
  (void)arg;
  for (long i = 0;; i++) {
    long x = i & 1023;
    long a = alpha(x), b = beta(x);
    int va = version_of(a, 1000 * x), vb = version_of(b, 3000 * x);
    if (!va) bad("alpha", x, a);
    if (!vb) bad("beta", x, b);
    last_alpha = va;
    last_beta = vb;
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    usleep(200); /* mostly outside alpha/beta, so an apply finds them idle */
  }
  return NULL;
}

static void* spinner(void* arg) {
  (void)arg;
  for (;;) {
    long n = 0;
    double f = 0.0;
    for (long k = 0; k < 200000; k++) {
      n += 3;
      f += 1.5;
      /* Both stay in registers, updated every turn: a stop can land anywhere here. */
      __asm__ volatile("" : "+r"(n), "+x"(f));
    }
    if (n != 600000) bad("spinner-integer", 0, n);
    if (f != 300000.0) bad("spinner-float", 0, (long)f);
    usleep(500);
  }
  return NULL;
}

static void* ticker(void* arg) {
  (void)arg;
  for (;;) {
    if (write(pipe_fds[1], "x", 1) != 1) bad("pipe-write", errno, 0);
    usleep(3000);
  }
  return NULL;
}

static void* reader(void* arg) {
  (void)arg;
  for (long i = 0;; i++) {
    char c;
    ssize_t n = read(pipe_fds[0], &c, 1);
    if (n != 1) bad("read", i, n < 0 ? -errno : n);
  }
  return NULL;
}

static void* waiter(void* arg) {
  (void)arg;
  int ep = epoll_create1(0);
  struct epoll_event ev;
  for (long i = 0;; i++) {
    int n = epoll_wait(ep, &ev, 1, 60000);
    if (n != 0) bad("epoll_wait", i, n < 0 ? -errno : n);
  }
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pipe(pipe_fds) != 0) return 2;
  pthread_t t;
  for (int i = 0; i < 3; i++) pthread_create(&t, NULL, caller, NULL);
  pthread_create(&t, NULL, spinner, NULL);
  pthread_create(&t, NULL, ticker, NULL);
  pthread_create(&t, NULL, reader, NULL);
  pthread_create(&t, NULL, waiter, NULL);
  printf("ready pid=%d\n", (int)getpid());
  long a = 0, b = 0;
  for (long i = 1;; i++) {
    a += 3;
    b += 5;
    usleep(5000);
    /* The compiler cannot know what a and b hold here: they are checked for real. */
    __asm__ volatile("" : "+r"(a), "+r"(b));
    if (a != 3 * i) bad("main-a", i, a);
    if (b != 5 * i) bad("main-b", i, b);
    printf("tick %ld alpha=%d beta=%d calls=%lu\n", i, last_alpha, last_beta,
           __atomic_load_n(&calls, __ATOMIC_RELAXED));
  }
}

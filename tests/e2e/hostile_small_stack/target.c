/* hostile_small_stack target: remote calls are tried on the main thread first, and
 * the main thread here runs on a 16 KiB stack laid out as pthread_create makes one
 * (an anonymous mapping with an inaccessible guard page right below it), of which a
 * recursion has used all but about 6 KiB before it sleeps at the bottom. A remote
 * call's signal frame (with the XSAVE image) and dlopen do not fit there: the call
 * must go to the other thread ("roomy", a default 8 MiB stack), which prints
 * "tick compute=N" every 50 ms; the main thread prints "small alive N" every 200 ms. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define SMALL_STACK 16384

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static char *stack_low; /* lowest address of the small stack */

__attribute__((noipa)) static void sleep_here(long left) {
  printf("small thread sleeps with %ld bytes of stack left\n", left);
  for (unsigned long n = 0;; n++) {
    struct timespec d = {0, 200 * 1000000L};
    nanosleep(&d, NULL);
    printf("small alive %lu\n", n);
  }
}

__attribute__((noipa)) static void sleep_deep(void) {
  char here;
  /* Burn stack until about 6 KiB are left, then sleep there forever. */
  if (&here - stack_low > 6 * 1024) {
    volatile char pad[512];
    memset((char *)pad, 1, sizeof pad);
    sleep_deep();
    pad[0] = 0; /* no tail call: the frame stays */
    return;
  }
  sleep_here((long)(&here - stack_low));
}

static void *roomy(void *arg) {
  (void)arg;
  for (;;) {
    printf("tick compute=%d\n", compute(7));
    struct timespec d = {0, 50 * 1000000L};
    nanosleep(&d, NULL);
  }
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const long page = sysconf(_SC_PAGESIZE);
  char *area = mmap(NULL, SMALL_STACK + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (area == MAP_FAILED || mprotect(area, page, PROT_NONE) != 0) abort();
  stack_low = area + page;
  printf("ready pid=%d\n", getpid());
  pthread_t t;
  if (pthread_create(&t, NULL, roomy, NULL) != 0) abort();
  static ucontext_t here, small;
  if (getcontext(&small) != 0) abort();
  small.uc_stack.ss_sp = stack_low;
  small.uc_stack.ss_size = SMALL_STACK;
  small.uc_link = NULL;
  makecontext(&small, sleep_deep, 0);
  swapcontext(&here, &small);
  abort();
}

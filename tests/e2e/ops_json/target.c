/* ops_check target: a "sleeper" thread sits inside hold() (a loop of short sleeps)
 * until the process gets SIGUSR1; then it calls hold(0) every 20 ms and prints
 * "hold=N" (1 original, 2 patched). The main thread prints compute(7) every 20 ms
 * (21 original, 70 patched). NONCE: this case's own build-id (--exe, -p all). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#ifndef NONCE
#error "build with -DNONCE='\"...\"'"
#endif
const char *volatile nonce = NONCE;

static volatile sig_atomic_t released;

__attribute__((noipa)) int hold(int wait) {
  while (wait && !released) usleep(50000);
  volatile int v = 1;
  return v;
}

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static void *sleeper(void *arg) {
  printf("sleeper tid=%d entering hold\n", (int)gettid());
  int r = hold(1);
  printf("sleeper left hold (returned %d)\n", r);
  for (;;) {
    r = hold(0);
    if (r != 1 && r != 2) printf("BAD hold=%d\n", r);
    printf("hold=%d\n", r);
    usleep(20000);
  }
  return NULL;
}

static void on_sigusr1(int sig) { released = 1; }

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa = {.sa_handler = on_sigusr1, .sa_flags = SA_RESTART};
  sigaction(SIGUSR1, &sa, NULL);
  pthread_t t;
  pthread_create(&t, NULL, sleeper, NULL);
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    printf("compute(7)=%d\n", r);
    usleep(20000);
  }
}

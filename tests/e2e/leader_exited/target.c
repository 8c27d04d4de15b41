/* leader_exited target: the main thread starts two workers and leaves with
 * pthread_exit(). The process lives on (its leader shows as a zombie, 'Z', in
 * /proc/PID/stat) while a worker prints compute(7) every 20 ms (21 original,
 * 70 patched) and the other sleeps. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static void *printer(void *arg) {
  for (;;) {
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    printf("compute(7)=%d\n", r);
    usleep(20000);
  }
  return NULL;
}

static void *idle(void *arg) {
  for (;;) usleep(10000);
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t t;
  pthread_create(&t, NULL, printer, NULL);
  pthread_create(&t, NULL, idle, NULL);
  printf("ready pid=%d\n", (int)getpid());
  pthread_exit(NULL);
}

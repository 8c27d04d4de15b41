/* hostile_pid_namespace target: runs in its own PID namespace (pid 1 there, as a
 * container's program often is) with two worker threads. Prints its pid as it sees
 * it, then each thread prints "tick N compute=..." every 50 ms. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static void* work(void* arg) {
  const int n = (int)(long)arg;
  for (;;) {
    printf("tick %d compute=%d\n", n, compute(7));
    struct timespec d = {0, 50 * 1000000L};
    nanosleep(&d, NULL);
  }
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready pid=%d\n", getpid());
  pthread_t t[2];
  for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, work, (void*)(i + 1));
  work((void*)0L);
}

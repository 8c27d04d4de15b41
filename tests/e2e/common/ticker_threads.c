/* common/ticker.c with three threads, for the container cases (hostile_pid_namespace,
 * hostile_container_root), where it runs as process 1 of its own PID namespace:
 * prints its pid as it sees it ("ready pid=1" there), then each thread N (0, 1, 2)
 * prints "tick N compute=..." every 50 ms. Patched by ticker_threads_patch.c. */
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

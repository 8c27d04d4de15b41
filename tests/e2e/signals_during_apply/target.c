/* signals_during_apply target: counts SIGUSR1 in a handler and acknowledges each
 * one to its sender with SIGUSR2, so the sender never has two in flight (standard
 * signals would merge) and any lost signal is the patcher's doing. Every 20 ms
 * prints "compute(7)=R count=C". Two extra threads idle, so signals may land on
 * any of three threads. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static volatile sig_atomic_t count;

static void on_sigusr1(int sig, siginfo_t *info, void *ctx) {
  count++;
  kill(info->si_pid, SIGUSR2);
}

static void *idle(void *arg) {
  for (;;) usleep(7000);
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa = {.sa_sigaction = on_sigusr1, .sa_flags = SA_SIGINFO | SA_RESTART};
  sigaction(SIGUSR1, &sa, NULL);
  pthread_t t;
  for (int i = 0; i < 2; i++) pthread_create(&t, NULL, idle, NULL);
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    printf("compute(7)=%d count=%d\n", r, (int)count);
    usleep(20000);
  }
}

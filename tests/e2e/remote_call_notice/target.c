/* remote_call_notice target: MODE says which of the signals the loader's return pad
 * may use for its notice (SIGURG, then SIGWINCH) the program takes for itself:
 *   plain      - neither: the pad uses SIGURG
 *   catch-urg  - a handler for SIGURG: the pad must use SIGWINCH
 *   catch-both - handlers for both: no notice, calls stop at every syscall
 * Each handler counts; a count above 0 means the loader's notice reached the
 * program. Every 20 ms prints "compute(7)=R urg=N winch=M"; two threads idle. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static volatile sig_atomic_t urg, winch;
static void on_urg(int sig) { urg++; }
static void on_winch(int sig) { winch++; }

/* "ready" only once both threads run their own code: a new thread starts with every
 * signal blocked (glibc blocks them around clone) until its start routine is called,
 * and the test compares the signal masks it reads after "ready" with later ones. */
static pthread_barrier_t started;

static void *idle(void *arg) {
  pthread_barrier_wait(&started);
  for (;;) usleep(7000);
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *mode = argc > 1 ? argv[1] : "plain";
  struct sigaction sa = {.sa_flags = SA_RESTART};
  if (!strcmp(mode, "catch-urg") || !strcmp(mode, "catch-both")) {
    sa.sa_handler = on_urg;
    sigaction(SIGURG, &sa, NULL);
  }
  if (!strcmp(mode, "catch-both")) {
    sa.sa_handler = on_winch;
    sigaction(SIGWINCH, &sa, NULL);
  }
  pthread_t t;
  pthread_barrier_init(&started, NULL, 3);
  for (int i = 0; i < 2; i++) pthread_create(&t, NULL, idle, NULL);
  pthread_barrier_wait(&started);
  printf("ready pid=%d mode=%s\n", (int)getpid(), mode);
  for (;;) {
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    printf("compute(7)=%d urg=%d winch=%d\n", r, (int)urg, (int)winch);
    usleep(20000);
  }
}

/* hostile_signal_while_held target: a thread waits in epoll_pwait() with SIGTERM
 * unblocked only inside the call (blocked everywhere else), the pattern of a
 * server whose event loop learns of a shutdown request from the call's EINTR. Its
 * SIGTERM handler only sets a flag; the loop checks the flag when epoll_pwait
 * fails with EINTR, and says so ("SIGTERM seen by epoll_pwait"). If the call were
 * re-run after the handler, the loop would never look at the flag: epoll_pwait
 * waits without a timeout on a pipe nobody writes to.
 * The main thread prints compute(7) every 50 ms (the patched function). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static volatile sig_atomic_t term_seen;
static void on_term(int sig) { term_seen = 1; }

static void *event_loop(void *arg) {
  int p[2], ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  if (ep < 0 || pipe(p) != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) != 0) return NULL;
  sigset_t inside;
  pthread_sigmask(SIG_SETMASK, NULL, &inside);
  sigdelset(&inside, SIGTERM);
  printf("loop tid=%ld\n", (long)syscall(SYS_gettid));
  for (;;) {
    int n = epoll_pwait(ep, &ev, 1, -1, &inside);
    if (n < 0 && errno == EINTR && term_seen) {
      printf("SIGTERM seen by epoll_pwait\n");
      term_seen = 0;
    } else if (n < 0 && errno == EINTR) {
      printf("BAD EINTR without SIGTERM\n");
    } else {
      printf("BAD epoll_pwait returned %d (%s)\n", n, n < 0 ? strerror(errno) : "no error");
    }
  }
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term; /* no SA_RESTART: epoll_pwait is never restarted anyway */
  sigaction(SIGTERM, &sa, NULL);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, NULL); /* inherited by the loop thread */
  pthread_t t;
  pthread_create(&t, NULL, event_loop, NULL);
  for (;;) {
    printf("compute(7)=%d\n", compute(7));
    usleep(50000);
  }
}

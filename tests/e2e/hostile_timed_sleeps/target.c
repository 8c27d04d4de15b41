/* hostile_timed_sleeps target: ONE thread (so every remote call of an apply or a
 * revert is made on it) that sleeps in a timed call, given by argv[1]:
 *   nanosleep clock_nanosleep poll ppoll select epoll_wait futex sem_timedwait
 *   cond_timedwait
 * each time for 300 ms, and reports a call that failed with EINTR ("EINTR <call>")
 * or came back before its time without a reason ("EARLY <call> ..."). After each
 * call it prints "tick <call> compute=<compute(7)>" (the patched function).
 * Self-test: SIGUSR1 has a handler without SA_RESTART, so a real signal must show
 * up as EINTR (but for pthread_cond_timedwait, which waits again until its
 * deadline when its futex wait is interrupted: there nothing can show). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SLEEP_MS 300

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static double now_ms(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct timespec in_ms(clockid_t clock, int ms) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  ts.tv_nsec += (long)ms * 1000000;
  ts.tv_sec += ts.tv_nsec / 1000000000;
  ts.tv_nsec %= 1000000000;
  return ts;
}

static void on_usr1(int sig) { (void)sig; }

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CALL\n", argv[0]);
    return 2;
  }
  const char *call = argv[1];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1; /* no SA_RESTART */
  sigaction(SIGUSR1, &sa, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);

  int p[2], ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  if (pipe(p) != 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) != 0) abort();
  static int word = 0;
  sem_t sem;
  sem_init(&sem, 0, 0);
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

  printf("ready %s pid=%d\n", call, getpid());
  for (;;) {
    double t0 = now_ms(CLOCK_MONOTONIC);
    long rc;
    int err = 0;
    int timed_out_value = 0; /* what the call returns when it times out */
    if (!strcmp(call, "nanosleep")) {
      struct timespec d = {0, SLEEP_MS * 1000000L};
      rc = nanosleep(&d, NULL);
    } else if (!strcmp(call, "clock_nanosleep")) {
      struct timespec d = {0, SLEEP_MS * 1000000L};
      rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL);
      if (rc != 0) { err = (int)rc; rc = -1; }
    } else if (!strcmp(call, "poll")) {
      struct pollfd pf = {.fd = p[0], .events = POLLIN};
      rc = poll(&pf, 1, SLEEP_MS);
    } else if (!strcmp(call, "ppoll")) {
      struct pollfd pf = {.fd = p[0], .events = POLLIN};
      struct timespec d = {0, SLEEP_MS * 1000000L};
      rc = ppoll(&pf, 1, &d, NULL);
    } else if (!strcmp(call, "select")) {
      fd_set r;
      FD_ZERO(&r);
      FD_SET(p[0], &r);
      struct timeval tv = {0, SLEEP_MS * 1000};
      rc = select(p[0] + 1, &r, NULL, NULL, &tv);
    } else if (!strcmp(call, "epoll_wait")) {
      rc = epoll_wait(ep, &ev, 1, SLEEP_MS);
    } else if (!strcmp(call, "futex")) {
      struct timespec d = {0, SLEEP_MS * 1000000L};
      rc = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &d, NULL, 0);
      timed_out_value = -1; /* ETIMEDOUT */
      if (rc == -1 && errno == ETIMEDOUT) rc = 0;
    } else if (!strcmp(call, "sem_timedwait")) {
      struct timespec until = in_ms(CLOCK_REALTIME, SLEEP_MS);
      rc = sem_timedwait(&sem, &until);
      if (rc == -1 && errno == ETIMEDOUT) rc = 0;
    } else if (!strcmp(call, "cond_timedwait")) {
      struct timespec until = in_ms(CLOCK_REALTIME, SLEEP_MS);
      pthread_mutex_lock(&mu);
      rc = pthread_cond_timedwait(&cv, &mu, &until);
      pthread_mutex_unlock(&mu);
      /* Nobody signals cv: 0 is a wake-up for no reason (glibc hides EINTR so). */
      if (rc == ETIMEDOUT) rc = 0;
      else if (rc == 0) rc = 1;
      else { err = (int)rc; rc = -1; }
    } else {
      fprintf(stderr, "unknown call %s\n", call);
      return 2;
    }
    if (rc == -1 && err == 0) err = errno;
    (void)timed_out_value;
    double took = now_ms(CLOCK_MONOTONIC) - t0;
    if (rc == -1 && err == EINTR)
      printf("EINTR %s after %.1f ms\n", call, took);
    else if (rc != 0 || took < SLEEP_MS - 5)
      printf("EARLY %s returned %ld (%s) after %.1f ms\n", call, rc, rc == -1 ? strerrorname_np(err) : "no error", took);
    printf("tick %s compute=%d\n", call, compute(7));
  }
}

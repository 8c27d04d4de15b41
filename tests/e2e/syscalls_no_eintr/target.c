/* syscalls_no_eintr target: six threads sit in blocking system calls and report
 * any call that fails with EINTR ("EINTR <call>"), or comes back early or for no
 * reason ("EARLY <call> ..."). Attaching with ptrace must not show through.
 *   read         on a pipe nobody writes to           (no timeout)
 *   epoll_wait   on that kind of pipe                 (no timeout)
 *   futex        FUTEX_WAIT on a word nobody wakes    (no timeout)
 *   semop        -1 on a SysV semaphore left at 0     (no timeout; id in argv[1])
 *   nanosleep    1 s, must really last 1 s            (prints "ok nanosleep")
 *   sigtimedwait for a signal nobody sends, 1 s       (prints "ok sigtimedwait")
 * The main thread prints compute(7) every 20 ms (the patched function).
 * Self-test: on SIGUSR1 the main thread sends SIGUSR2 (a handler without
 * SA_RESTART) to each of the six, which must then report EINTR: this proves the
 * detectors work, so "no EINTR line" means something. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static int semid;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void report(const char *call, long rc, int err) {
  if (rc == -1 && err == EINTR)
    printf("EINTR %s\n", call);
  else
    printf("EARLY %s returned %ld (%s)\n", call, rc, rc == -1 ? strerrorname_np(err) : "no error");
}

static void *t_read(void *arg) {
  int p[2];
  char c;
  if (pipe(p) != 0) abort();
  printf("ready read\n");
  for (;;) {
    long rc = read(p[0], &c, 1);
    report("read", rc, errno);
  }
  return NULL;
}

static void *t_epoll(void *arg) {
  int p[2], ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  if (ep < 0 || pipe(p) != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) != 0) abort();
  printf("ready epoll_wait\n");
  for (;;) {
    long rc = epoll_wait(ep, &ev, 1, -1);
    report("epoll_wait", rc, errno);
  }
  return NULL;
}

static void *t_futex(void *arg) {
  static int word = 0;
  printf("ready futex\n");
  for (;;) {
    long rc = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    report("futex", rc, errno);
  }
  return NULL;
}

static void *t_semop(void *arg) {
  struct sembuf op = {.sem_num = 0, .sem_op = -1, .sem_flg = 0};
  printf("ready semop\n");
  for (;;) {
    long rc = semop(semid, &op, 1);
    report("semop", rc, errno);
  }
  return NULL;
}

static void *t_nanosleep(void *arg) {
  printf("ready nanosleep\n");
  for (;;) {
    struct timespec req = {1, 0};
    double start = now_ms();
    long rc = nanosleep(&req, NULL);
    double took = now_ms() - start;
    if (rc != 0)
      report("nanosleep", rc, errno);
    else if (took < 999.0)
      printf("EARLY nanosleep after %.1f ms of 1000\n", took);
    else
      printf("ok nanosleep %.1f ms\n", took);
  }
  return NULL;
}

static void *t_sigtimedwait(void *arg) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  printf("ready sigtimedwait\n");
  for (;;) {
    struct timespec timeout = {1, 0};
    double start = now_ms();
    long rc = sigtimedwait(&set, NULL, &timeout);
    int err = errno;
    double took = now_ms() - start;
    if (rc == -1 && err == EAGAIN && took >= 999.0)
      printf("ok sigtimedwait %.1f ms\n", took);
    else if (rc == -1 && err == EAGAIN)
      printf("EARLY sigtimedwait timed out after %.1f ms of 1000\n", took);
    else
      report("sigtimedwait", rc, err);
  }
  return NULL;
}

static void on_sigusr2(int sig) {}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 2) {
    fprintf(stderr, "usage: target SEMID\n");
    return 2;
  }
  semid = atoi(argv[1]);

  /* SIGUSR1 (the self-test trigger) is for the main thread's sigtimedwait only. */
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);
  struct sigaction sa = {.sa_handler = on_sigusr2}; /* no SA_RESTART: EINTR */
  sigaction(SIGUSR2, &sa, NULL);

  void *(*fns[])(void *) = {t_read, t_epoll, t_futex, t_semop, t_nanosleep, t_sigtimedwait};
  enum { N = sizeof fns / sizeof fns[0] };
  pthread_t threads[N];
  for (int i = 0; i < N; i++) pthread_create(&threads[i], NULL, fns[i], NULL);
  printf("ready pid=%d\n", (int)getpid());

  for (;;) {
    printf("compute(7)=%d\n", compute(7));
    struct timespec tick = {0, 20 * 1000 * 1000};
    if (sigtimedwait(&usr1, NULL, &tick) == SIGUSR1) {
      for (int i = 0; i < N; i++) pthread_kill(threads[i], SIGUSR2);
      printf("selftest: sent SIGUSR2 to %d threads\n", N);
    }
  }
}

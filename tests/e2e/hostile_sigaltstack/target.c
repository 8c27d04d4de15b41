/* hostile_sigaltstack target: thread W calls work(7) every 20 ms; work() calls
 * inner(). On SIGHUP the main thread makes inner() park (sleep in a loop), and once
 * W is parked there, with work()'s frame (or, once patched, the patch's work_v2)
 * below it, sends W SIGUSR1: W runs a handler on an alternate signal stack (its own
 * mapping) that waits until the main thread gets SIGUSR2. While the handler waits,
 * W's stack pointer is on the alternate stack; the frames it interrupted, work_v2's
 * return address among them, are on W's normal stack, reachable only through the
 * signal frame's saved context. Unloading the patch then would make inner() return
 * into unmapped memory. SIGUSR2 ends the handler and the parking. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int release_pipe[2];
static volatile int park, parked;

__attribute__((noipa)) int inner(int x) {
  while (park) {
    parked = 1;
    struct timespec ts = {0, 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  parked = 0;
  return x + 1;
}

__attribute__((noipa)) int work(int x) {
  volatile int factor = 3;
  return inner(x) * factor - factor;
}

static void on_usr1(int sig) {
  stack_t ss;
  sigaltstack(NULL, &ss);
  char line[96];
  int n = snprintf(line, sizeof line, "handler waits on the %s stack\n", (ss.ss_flags & SS_ONSTACK) ? "alternate" : "normal");
  write(1, line, n);
  char c;
  read(release_pipe[0], &c, 1);
  write(1, "handler returns\n", 16);
}

static void *w_thread(void *arg) {
  stack_t ss = {.ss_size = 256 * 1024, .ss_flags = 0};
  ss.ss_sp = mmap(NULL, ss.ss_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ss.ss_sp == MAP_FAILED || sigaltstack(&ss, NULL) != 0) {
    printf("BAD sigaltstack\n");
    return NULL;
  }
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
  printf("W tid=%ld\n", (long)syscall(SYS_gettid));
  int last = 0;
  for (;;) {
    int r = work(7);
    if (r != last) printf("work(7)=%d\n", r);
    last = r;
    usleep(20000);
  }
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pipe(release_pipe) != 0) return 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_ONSTACK | SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  sigset_t both;
  sigemptyset(&both);
  sigaddset(&both, SIGUSR1);
  sigaddset(&both, SIGUSR2);
  sigaddset(&both, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &both, NULL); /* W unblocks SIGUSR1 for itself */
  pthread_t t;
  pthread_create(&t, NULL, w_thread, NULL);
  sigset_t control;
  sigemptyset(&control);
  sigaddset(&control, SIGUSR2);
  sigaddset(&control, SIGHUP);
  for (;;) {
    int sig;
    sigwait(&control, &sig);
    if (sig == SIGHUP) {
      park = 1;
      while (!parked) usleep(1000);
      printf("W parked in inner()\n");
      pthread_kill(t, SIGUSR1);
    } else {
      park = 0;
      write(release_pipe[1], "x", 1);
    }
  }
}

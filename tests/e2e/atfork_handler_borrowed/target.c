/* atfork_handler_borrowed target: on SIGUSR1 the main thread forks; its
 * pthread_atfork prepare handler opens a FIFO, so the thread sits in a syscall of
 * a user handler inside fork() until someone opens the FIFO for writing. A second
 * thread idles (fork takes its locks only when the process has threads). Prints
 * "compute(7)=R" every 20 ms, "forked" once the fork is over. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static const char *fifo;
static void prepare(void) {
  printf("prepare handler: opening the FIFO\n");
  int fd = open(fifo, O_RDONLY);
  if (fd >= 0) close(fd);
}

static volatile sig_atomic_t go;
static void on_go(int sig) { go = 1; }

static void *idle(void *arg) {
  for (;;) usleep(7000);
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 2) return 2;
  fifo = argv[1];
  pthread_atfork(prepare, NULL, NULL);
  struct sigaction sa = {.sa_handler = on_go, .sa_flags = SA_RESTART};
  sigaction(SIGUSR1, &sa, NULL);
  pthread_t t;
  pthread_create(&t, NULL, idle, NULL);
  printf("ready pid=%d\n", (int)getpid());
  for (int forked = 0;;) {
    if (go && !forked) {
      forked = 1;
      pid_t child = fork();
      if (child == 0) _exit(0);
      waitpid(child, NULL, 0);
      printf("forked\n");
    }
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    printf("compute(7)=%d\n", r);
    usleep(20000);
  }
}

/* borrow_not_inside_dlopen target: a single thread that, on "go" (SIGUSR1), calls
 * dlopen() on a FIFO. ld.so's openat blocks until a writer opens the FIFO: the
 * thread then sits in a syscall made by ld.so, holding the loader's lock, with the
 * load half begun. That thread must not be borrowed for a remote dlopen. Prints
 * "compute(7)=R" every 20 ms, "dlopen returned" once the FIFO was opened. */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static volatile sig_atomic_t go;
static void on_go(int sig) { go = 1; }

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 2) return 2;
  struct sigaction sa = {.sa_handler = on_go, .sa_flags = SA_RESTART};
  sigaction(SIGUSR1, &sa, NULL);
  printf("ready pid=%d\n", (int)getpid());
  for (int opened = 0;;) {
    if (go && !opened) {
      opened = 1;
      printf("calling dlopen\n");
      void *h = dlopen(argv[1], RTLD_NOW);
      printf("dlopen returned %s\n", h ? "a handle" : "an error");
    }
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    printf("compute(7)=%d\n", r);
    usleep(20000);
  }
}

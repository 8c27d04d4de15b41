// try_attach PID: PTRACE_SEIZE of PID by whoever runs this (the kernel's rules: uids,
// CAP_SYS_PTRACE, Yama). Prints "attached" and exits 0 (exiting detaches), or
// "refused: REASON" and exits 1.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: try_attach PID\n");
    return 2;
  }
  if (ptrace(PTRACE_SEIZE, atoi(argv[1]), 0, 0) != 0) {
    printf("refused: %s\n", strerror(errno));
    return 1;
  }
  printf("attached\n");
  return 0;
}

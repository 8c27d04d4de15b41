/* sender PID STOPFILE: sends SIGUSR1 to PID, waits for its SIGUSR2 ack, again and
 * again until STOPFILE exists; then prints "sent N acked M". A missing ack (5 s)
 * prints "TIMEOUT ...". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 3) return 2;
  pid_t target = atoi(argv[1]);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, NULL);
  printf("started\n");
  long sent = 0, acked = 0;
  while (access(argv[2], F_OK) != 0) {
    if (kill(target, SIGUSR1) != 0) {
      perror("kill");
      return 1;
    }
    sent++;
    struct timespec timeout = {5, 0};
    int sig;
    do {
      sig = sigtimedwait(&set, NULL, &timeout);
    } while (sig < 0 && errno == EINTR);
    if (sig == SIGUSR2)
      acked++;
    else
      printf("TIMEOUT no ack for signal #%ld within 5 s\n", sent);
    usleep(50);
  }
  printf("sent %ld acked %ld\n", sent, acked);
  return 0;
}

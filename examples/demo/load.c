/* demo load client: load PORT [THREADS]
 *
 * THREADS (default 4) loops each connect to 127.0.0.1:PORT, send "price K"
 * (K = 1..9), read the reply and hang up, as fast as they can, until SIGINT or
 * SIGTERM. A reply must be "total 10*K" (fixed server) or "total 10*(K+1)" (the
 * bug); anything else is malformed. Connect errors, timeouts (2 s) and malformed
 * replies are failures. Prints a summary; exits 0 only if nothing failed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static volatile sig_atomic_t stop;

struct stats {
  long requests, fixed, buggy, connect_errors, timeouts, malformed;
  double worst_ms;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One request on a new connection; counts the reply kind or the failure in S. */
static void one_request(struct stats *s, unsigned *seed) {
  int qty = 1 + (int)(rand_r(seed) % 9);
  double start = now_ms();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  s->requests++;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    s->connect_errors++;
    fprintf(stderr, "load: connect: %s\n", strerror(errno));
    close(fd);
    return;
  }
  char req[32], reply[64];
  int len = snprintf(req, sizeof req, "price %d\n", qty);
  size_t got = 0;
  if (send(fd, req, len, MSG_NOSIGNAL) != len) goto timeout_or_error;
  while (got < sizeof reply - 1 && (got == 0 || reply[got - 1] != '\n')) {
    ssize_t n = recv(fd, reply + got, sizeof reply - 1 - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) goto timeout_or_error;
    got += (size_t)n;
  }
  reply[got] = 0;
  close(fd);
  int total;
  char extra;
  if (sscanf(reply, "total %d%c", &total, &extra) == 2 && extra == '\n' && total == 10 * qty) {
    s->fixed++;
  } else if (sscanf(reply, "total %d%c", &total, &extra) == 2 && extra == '\n' && total == 10 * (qty + 1)) {
    s->buggy++;
  } else {
    s->malformed++;
    fprintf(stderr, "load: malformed reply to \"price %d\": \"%s\"\n", qty, reply);
  }
  double took = now_ms() - start;
  if (took > s->worst_ms) s->worst_ms = took;
  return;

timeout_or_error:
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    s->timeouts++;
    fprintf(stderr, "load: timeout waiting for the reply to \"price %d\"\n", qty);
  } else {
    s->malformed++;
    fprintf(stderr, "load: connection lost before a full reply to \"price %d\" (%s)\n", qty,
            got ? "partial reply" : strerror(errno));
  }
  close(fd);
}

static void *loop(void *arg) {
  struct stats *s = arg;
  unsigned seed = (unsigned)(long)s ^ (unsigned)getpid();
  while (!stop) one_request(s, &seed);
  return NULL;
}

static void on_stop(int sig) { stop = 1; }

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: load PORT [THREADS]\n");
    return 2;
  }
  port = atoi(argv[1]);
  int nthreads = argc > 2 ? atoi(argv[2]) : 4;
  if (nthreads < 1 || nthreads > 64) nthreads = 4;
  struct sigaction sa = {.sa_handler = on_stop};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  pthread_t t[64];
  struct stats s[64];
  memset(s, 0, sizeof s);
  for (int i = 0; i < nthreads; i++) pthread_create(&t[i], NULL, loop, &s[i]);
  printf("load: %d clients running\n", nthreads);

  struct stats sum = {0};
  for (int i = 0; i < nthreads; i++) {
    pthread_join(t[i], NULL);
    sum.requests += s[i].requests;
    sum.fixed += s[i].fixed;
    sum.buggy += s[i].buggy;
    sum.connect_errors += s[i].connect_errors;
    sum.timeouts += s[i].timeouts;
    sum.malformed += s[i].malformed;
    if (s[i].worst_ms > sum.worst_ms) sum.worst_ms = s[i].worst_ms;
  }
  long failures = sum.connect_errors + sum.timeouts + sum.malformed;
  printf("requests=%ld buggy_replies=%ld fixed_replies=%ld failures=%ld "
         "(connect=%ld timeout=%ld malformed=%ld) slowest=%.1fms\n",
         sum.requests, sum.buggy, sum.fixed, failures, sum.connect_errors, sum.timeouts,
         sum.malformed, sum.worst_ms);
  return failures == 0 ? 0 : 1;
}

/* P3 load generator: latency_load PORT CLIENTS MAX_SECONDS
 *
 * CLIENTS threads each connect to 127.0.0.1:PORT, send "price K", read the reply
 * and hang up, as fast as they can (the demo's load pattern), until SIGINT/SIGTERM
 * or MAX_SECONDS. Every request's latency is kept, filed under the phase it started
 * in: "base" until SIGUSR1, "patch" from SIGUSR1 until SIGUSR2, "base" again after.
 * Comparing windows of the same run on the same connections keeps the machine's
 * drifting background load out of the comparison. At the end prints
 *   requests=N failed=N base_p99_us=N base_max_us=N patch_p99_us=N patch_max_us=N
 * A request fails on a connect error, a timeout (2 s), a lost connection or a reply
 * that is neither the buggy nor the fixed price. Exit status 0 only if none failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static volatile sig_atomic_t stop;
static volatile sig_atomic_t phase; /* 0 base, 1 patch */

struct samples {
  uint32_t *latency_us;
  size_t count, capacity;
};

struct client {
  struct samples phase[2];
  long failed;
};

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* One request on a fresh connection; 0 if the reply was a valid price. */
static int one_request(unsigned *seed) {
  int qty = 1 + (int)(rand_r(seed) % 9);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char req[32], reply[64];
  size_t got = 0;
  int ok = -1;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) goto out;
  int len = snprintf(req, sizeof req, "price %d\n", qty);
  if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) goto out;
  while (got < sizeof reply - 1 && (got == 0 || reply[got - 1] != '\n')) {
    ssize_t n = recv(fd, reply + got, sizeof reply - 1 - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) goto out;
    got += (size_t)n;
  }
  reply[got] = 0;
  int total;
  char end;
  if (sscanf(reply, "total %d%c", &total, &end) == 2 && end == '\n' && (total == 10 * qty || total == 10 * (qty + 1)))
    ok = 0;
out:
  if (ok != 0) fprintf(stderr, "latency_load: request \"price %d\" failed (%s)\n", qty, got ? "bad reply" : strerror(errno));
  close(fd);
  return ok;
}

static void *loop(void *arg) {
  struct client *c = arg;
  unsigned seed = (unsigned)(uintptr_t)c ^ (unsigned)getpid();
  while (!stop) {
    struct samples *s = &c->phase[phase];
    uint64_t start = now_us();
    int result = one_request(&seed);
    uint64_t took = now_us() - start;
    if (result != 0) {
      c->failed++;
      continue;
    }
    if (s->count == s->capacity) {
      s->capacity = s->capacity ? s->capacity * 2 : 65536;
      s->latency_us = realloc(s->latency_us, s->capacity * sizeof *s->latency_us);
      if (!s->latency_us) abort();
    }
    s->latency_us[s->count++] = took > UINT32_MAX ? UINT32_MAX : (uint32_t)took;
  }
  return NULL;
}

static void on_stop(int sig) { (void)sig; stop = 1; }
static void on_phase(int sig) { phase = sig == SIGUSR1 ? 1 : 0; }

static int by_value(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: latency_load PORT CLIENTS MAX_SECONDS\n");
    return 2;
  }
  port = atoi(argv[1]);
  int clients = atoi(argv[2]);
  int max_seconds = atoi(argv[3]);
  if (clients < 1 || clients > 64) clients = 4;
  struct sigaction sa = {.sa_handler = on_stop};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  struct sigaction switch_phase = {.sa_handler = on_phase};
  sigaction(SIGUSR1, &switch_phase, NULL);
  sigaction(SIGUSR2, &switch_phase, NULL);
  signal(SIGPIPE, SIG_IGN);

  pthread_t t[64];
  struct client c[64];
  memset(c, 0, sizeof c);
  for (int i = 0; i < clients; i++) pthread_create(&t[i], NULL, loop, &c[i]);
  printf("latency_load: %d clients running\n", clients);
  fflush(stdout);
  for (int waited_ms = 0; !stop && waited_ms < max_seconds * 1000; waited_ms += 10) usleep(10000);
  stop = 1;

  size_t total = 0;
  long failed = 0;
  uint32_t p99[2] = {0, 0}, max[2] = {0, 0};
  for (int i = 0; i < clients; i++) {
    pthread_join(t[i], NULL);
    failed += c[i].failed;
  }
  for (int ph = 0; ph < 2; ph++) {
    size_t n = 0;
    for (int i = 0; i < clients; i++) n += c[i].phase[ph].count;
    total += n;
    if (n == 0) continue;
    uint32_t *all = malloc(n * sizeof *all);
    size_t at = 0;
    for (int i = 0; i < clients; i++) {
      memcpy(all + at, c[i].phase[ph].latency_us, c[i].phase[ph].count * sizeof *all);
      at += c[i].phase[ph].count;
    }
    qsort(all, n, sizeof *all, by_value);
    p99[ph] = all[(size_t)((double)(n - 1) * 0.99)];
    max[ph] = all[n - 1];
    free(all);
  }
  printf("requests=%zu failed=%ld base_p99_us=%u base_max_us=%u patch_p99_us=%u patch_max_us=%u\n",
         total + (size_t)failed, failed, p99[0], max[0], p99[1], max[1]);
  return failed == 0 ? 0 : 1;
}

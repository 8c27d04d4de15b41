/* demo server: a tiny price service on 127.0.0.1.
 *
 *   client: "price 3\n"   server: "total 30\n"     (10 per item)
 *
 * It has a bug: total_price() charges one item too many ("price 3" -> "total 40").
 * examples/demo/fix.c fixes it without restarting the server.
 *
 * Usage: server [PORT]   (default 0: any free port). Prints "listening on
 * 127.0.0.1:PORT pid PID" once it accepts connections. One thread per connection;
 * a connection may carry many requests, one per line. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define UNIT_PRICE 10

/* The price of QTY items. */
__attribute__((noinline)) int total_price(int qty) {
  int total = 0;
  for (int i = 0; i <= qty; i++) /* BUG: `<=` counts one item too many */
    total += UNIT_PRICE;
  return total;
}

static int send_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static void answer(int fd, const char *line) {
  char reply[64];
  int qty;
  char extra;
  if (sscanf(line, "price %d %c", &qty, &extra) == 1 && qty >= 0 && qty <= 1000000)
    snprintf(reply, sizeof reply, "total %d\n", total_price(qty));
  else
    snprintf(reply, sizeof reply, "error expected: price N\n");
  send_all(fd, reply, strlen(reply));
}

static void *serve(void *arg) {
  int fd = (int)(long)arg;
  char buf[256];
  size_t used = 0;
  for (;;) {
    ssize_t n = recv(fd, buf + used, sizeof buf - 1 - used, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += (size_t)n;
    buf[used] = 0;
    char *start = buf, *nl;
    while ((nl = strchr(start, '\n')) != NULL) {
      *nl = 0;
      answer(fd, start);
      start = nl + 1;
    }
    used = strlen(start);
    memmove(buf, start, used);
    if (used == sizeof buf - 1) break; /* a line too long: hang up */
  }
  close(fd);
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  int port = argc > 1 ? atoi(argv[1]) : 0;

  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(ls, 128) != 0) {
    perror("server: bind/listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(ls, (struct sockaddr *)&addr, &len);
  printf("listening on 127.0.0.1:%d pid %d\n", ntohs(addr.sin_port), (int)getpid());

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (;;) {
    int fd = accept(ls, NULL, NULL);
    if (fd < 0) {
      if (errno != EINTR && errno != ECONNABORTED) perror("server: accept");
      continue;
    }
    pthread_t t;
    if (pthread_create(&t, &attr, serve, (void *)(long)fd) != 0) close(fd);
  }
}

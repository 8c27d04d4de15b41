#ifndef CONN_H
#define CONN_H

struct conn {
  int fd;
  long requests;
};

#define CONNS 32
extern struct conn *conns[CONNS];
extern int hook_log_fd; /* where the patch's callbacks write what they see */

int handle(struct conn *c);
#endif

#ifndef CONN_H
#define CONN_H

/* The Makefile defines CONN_TAGGED: a file compiled without the project's flags
 * would see another layout (fd at offset 0). */
struct conn {
#ifdef CONN_TAGGED
  long tag;
#endif
  int fd;
  long requests;
};

#define CONNS 32
extern struct conn *conns[CONNS];
extern int hook_log_fd; /* where the patch's callbacks write what they see */

int handle(struct conn *c);
#endif

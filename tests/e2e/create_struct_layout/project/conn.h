struct conn {
  int fd;
  long bytes;
};

long account(struct conn *c, long n);

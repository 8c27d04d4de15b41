#include "conn.h"

long account(struct conn *c, long n) {
  c->bytes += n;
  return c->bytes;
}

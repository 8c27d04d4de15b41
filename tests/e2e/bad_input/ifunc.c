/* strlen is an IFUNC in glibc: its symbol is a resolver, not the function. */
#include <stddef.h>
#include <hotpatch/patch.h>

size_t strlen_v2(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

HOTPATCH_ID("ifunc");
HOTPATCH_REPLACE(strlen, strlen_v2);

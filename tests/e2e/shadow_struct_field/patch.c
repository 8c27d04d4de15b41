/* Adds a field to every `struct conn` that exists: a shadow variable of id
 * CONN_STATS, attached on first use, read by the new report(). */
#include <stdio.h>

#include <hotpatch/patch.h>

HOTPATCH_ID("shadow-fix");
HOTPATCH_DESCRIPTION("handle() counts per connection in a shadow variable");

#define CONN_STATS 0x5354415453ull /* any 64-bit constant */
HOTPATCH_SHADOW_ID(CONN_STATS);

struct conn {
  int fd;
  long requests;
};

/* The new field, and a back pointer to check that a shadow is never another's. */
struct conn_stats {
  const struct conn *owner;
  long handled;
};

static int init_stats(const void *obj, void *shadow, void *data) {
  (void)data;
  ((struct conn_stats *)shadow)->owner = obj;
  return 0;
}

static int handle_v2(struct conn *c) {
  __atomic_add_fetch(&c->requests, 1, __ATOMIC_RELAXED);
  struct conn_stats *s = hotpatch_shadow_get_or_alloc(c, CONN_STATS, sizeof *s, init_stats, NULL);
  if (!s) return -1; /* the target prints BAD */
  if (s->owner != c) return -2;
  __atomic_add_fetch(&s->handled, 1, __ATOMIC_RELAXED);
  return 2;
}

static void report_v2(struct conn **all, int n) {
  long total = 0, handled = 0, attached = 0;
  for (int i = 0; i < n; i++) {
    total += __atomic_load_n(&all[i]->requests, __ATOMIC_RELAXED);
    struct conn_stats *s = hotpatch_shadow_get(all[i], CONN_STATS);
    if (!s) continue;
    if (s->owner != all[i]) printf("BAD shadow of conn %d belongs to %p\n", i, (void *)s->owner);
    attached++;
    handled += __atomic_load_n(&s->handled, __ATOMIC_RELAXED);
  }
  printf("report requests=%ld shadows=%ld handled=%ld count=%zu\n", total, attached, handled,
         hotpatch_shadow_count(CONN_STATS));
}

HOTPATCH_REPLACE(handle, handle_v2);
HOTPATCH_REPLACE(report, report_v2);

#include "table.h"

static struct value *new_key(struct table *t, const struct value *key);

struct value *table_set(struct table *t, const struct value *key) {
  const struct value *p = lookup(t, key);
  t->flags = 0;
  if (p != &nil_value) return (struct value *)p;
  if (key->tag == 0) fail_with("table index is nil");
  else if (key->tag == 3 && key->d != key->d) fail_with("table index is NaN");
  return new_key(t, key);
}

__attribute__((noinline, noclone)) static struct value *new_key(struct table *t, const struct value *key) {
  for (int i = 0; i < 8; i++)
    if (t->slots[i].tag == 0) {
      t->slots[i] = *key;
      return &t->slots[i];
    }
  fail_with("full");
}

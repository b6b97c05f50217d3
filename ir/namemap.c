/* Name -> instruction id map (see namemap.h). */
#include "ir/namemap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_n(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

ir_id ir_namemap_get(const ir_namemap *m, const char *s, size_t n) {
  if (!m->cap) return IR_NONE;
  for (size_t i = hash_n(s, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    if (!m->keys[i]) return IR_NONE;
    if (strncmp(m->keys[i], s, n) == 0 && m->keys[i][n] == '\0') return m->vals[i];
  }
}

bool ir_namemap_put(ir_namemap *m, const char *key, ir_id v) {
  if ((m->n + 1) * 2 > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    ir_namemap nm = {calloc(cap, sizeof(char *)), calloc(cap, sizeof(ir_id)), cap, 0};
    if (!nm.keys || !nm.vals) {
      free(nm.keys);
      free(nm.vals);
      return false;
    }
    for (size_t i = 0; i < m->cap; i++)
      if (m->keys[i]) ir_namemap_put(&nm, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    *m = nm;
  }
  size_t len = strlen(key);
  for (size_t i = hash_n(key, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    if (!m->keys[i]) {
      m->keys[i] = key;
      m->vals[i] = v;
      m->n++;
      return true;
    }
  }
}

void ir_namemap_free(ir_namemap *m) {
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

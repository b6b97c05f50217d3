/* Module arena: chunked bump allocation, freed all at once. */
#include "ir/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
  arena_chunk *next;
  size_t cap, used;
  /* data follows, 64-byte aligned */
};

#define CHUNK_HDR 64
#define CHUNK_SIZE (256 * 1024)

void arena_init(arena *a) {
  a->head = NULL;
  a->total = 0;
}

void arena_free(arena *a) {
  arena_chunk *c = a->head;
  while (c) {
    arena_chunk *n = c->next;
    free(c);
    c = n;
  }
  a->head = NULL;
  a->total = 0;
}

static arena_chunk *new_chunk(arena *a, size_t cap) {
  /* aligned_alloc keeps the data area 64-byte aligned for weights. */
  size_t bytes = (CHUNK_HDR + cap + 4095) & ~(size_t)4095;
  arena_chunk *c = aligned_alloc(4096, bytes);
  if (!c) return NULL;
  c->cap = bytes - CHUNK_HDR;
  c->used = 0;
  a->total += bytes;
  return c;
}

void *arena_alloc(arena *a, size_t n, size_t align) {
  if (align < 8) align = 8;
  if (n == 0) n = 1;
  if (n > SIZE_MAX / 2) return NULL;
  arena_chunk *c = a->head;
  if (c) {
    size_t off = (c->used + align - 1) & ~(align - 1);
    if (off + n <= c->cap) {
      c->used = off + n;
      void *p = (char *)c + CHUNK_HDR + off;
      memset(p, 0, n);
      return p;
    }
  }
  if (n + align > CHUNK_SIZE / 4) {
    /* A big block gets its own chunk, linked behind the head so the head's
     * free tail stays usable. */
    arena_chunk *big = new_chunk(a, n + align);
    if (!big) return NULL;
    big->used = big->cap;
    if (a->head) {
      big->next = a->head->next;
      a->head->next = big;
    } else {
      big->next = NULL;
      a->head = big;
    }
    void *p = (char *)big + CHUNK_HDR;
    memset(p, 0, n);
    return p;
  }
  arena_chunk *nc = new_chunk(a, CHUNK_SIZE);
  if (!nc) return NULL;
  nc->next = a->head;
  a->head = nc;
  nc->used = n;
  void *p = (char *)nc + CHUNK_HDR;
  memset(p, 0, n);
  return p;
}

char *arena_strndup(arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1, 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}

char *arena_strdup(arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

void *arena_memdup(arena *a, const void *p, size_t n, size_t align) {
  void *q = arena_alloc(a, n, align);
  if (q && n) memcpy(q, p, n);
  return q;
}

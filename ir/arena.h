/*
 * Bump allocator owned by a module. Allocations live until the arena is
 * destroyed; there is no per-object free. Large requests get a chunk of
 * their own so weights do not waste the tail of a shared chunk.
 *
 *   arena ──► chunk ──► chunk ──► ...     (newest first)
 *             [hdr|used......|free]
 */
#ifndef KILN_IR_ARENA_H
#define KILN_IR_ARENA_H

#include <stddef.h>

typedef struct arena_chunk arena_chunk;

typedef struct arena {
  arena_chunk *head;
  size_t total; /* bytes obtained from malloc */
} arena;

void arena_init(arena *a);
void arena_free(arena *a);
/* Returns zeroed memory aligned to `align` (a power of two <= 4096), or NULL
 * when out of memory. */
void *arena_alloc(arena *a, size_t n, size_t align);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);
void *arena_memdup(arena *a, const void *p, size_t n, size_t align);

#endif

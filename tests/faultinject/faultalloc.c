/*
 * The allocation wrappers behind faultalloc.h. The linker sends kiln's
 * calls of malloc, calloc, realloc, aligned_alloc, posix_memalign, strdup,
 * strndup, free and fopen/tmpfile here (--wrap); __real_X is libc's X (or the
 * sanitizer's, which interposes libc's).
 *
 * Bookkeeping uses the __real_ functions only, so it never counts itself.
 * fopen and tmpfile count as allocations (they allocate the FILE and fail
 * with ENOMEM when they cannot); a FILE is not recorded as a block (fclose
 * is not wrapped: a FILE left open shows up in LeakSanitizer instead).
 */
#include "tests/faultinject/faultalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void __real_free(void *p);
FILE *__real_fopen(const char *path, const char *mode);
FILE *__real_fopen64(const char *path, const char *mode);
FILE *__real_tmpfile64(void);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
int __wrap_posix_memalign(void **p, size_t a, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
void __wrap_free(void *p);
FILE *__wrap_fopen(const char *path, const char *mode);
FILE *__wrap_fopen64(const char *path, const char *mode);
FILE *__wrap_tmpfile64(void);

/* Open-addressing hash tables keyed by address; key 0 is empty, key 1 a
 * deleted slot (neither is a valid block or return address). */
typedef struct slot {
  uintptr_t key;
  uintptr_t site;
  size_t size;
} slot;

typedef struct table {
  slot *s;
  size_t cap, used, live; /* used counts deleted slots too */
} table;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool armed;
static uint64_t count, fail_at;
static bool failed;
static uintptr_t failed_site;
static table blocks; /* live blocks made while armed */
static table sites;  /* distinct call addresses seen while armed */

static size_t hash(uintptr_t k, size_t cap) {
  uint64_t h = (uint64_t)k * 0x9E3779B97F4A7C15u;
  return (size_t)(h >> 20) & (cap - 1);
}

/* Returns the slot of key, or the slot to put it in (NULL when the table
 * is full: the caller grows it first). */
static slot *find(table *t, uintptr_t key, bool insert) {
  if (!t->cap) return NULL;
  slot *grave = NULL;
  for (size_t i = hash(key, t->cap), k = 0; k < t->cap; i = (i + 1) & (t->cap - 1), k++) {
    slot *s = &t->s[i];
    if (s->key == key) return s;
    if (s->key == 1 && !grave) grave = s;
    if (s->key == 0) return insert ? (grave ? grave : s) : NULL;
  }
  return insert ? grave : NULL;
}

/* Keeps the table at most half used. A failure to grow (the real
 * allocator is out of memory) drops the record: the test then reports
 * fewer leaks, never false ones. */
static bool reserve(table *t) {
  if (t->cap && 2 * (t->used + 1) <= t->cap) return true;
  size_t cap = t->cap ? t->cap * 2 : 1024;
  while (2 * (t->live + 1) > cap) cap *= 2;
  slot *n = __real_calloc(cap, sizeof *n);
  if (!n) return false;
  table old = *t;
  t->s = n;
  t->cap = cap;
  t->used = t->live = 0;
  for (size_t i = 0; i < old.cap; i++)
    if (old.s[i].key > 1) {
      slot *s = find(t, old.s[i].key, true);
      *s = old.s[i];
      t->used++;
      t->live++;
    }
  __real_free(old.s);
  return true;
}

static void put(table *t, uintptr_t key, uintptr_t site, size_t size) {
  if (!reserve(t)) return;
  slot *s = find(t, key, true);
  if (s->key != key) {
    if (s->key == 0) t->used++;
    t->live++;
  }
  s->key = key;
  s->site = site;
  s->size = size;
}

static void drop(table *t, uintptr_t key) {
  slot *s = find(t, key, false);
  if (!s) return;
  s->key = 1;
  t->live--;
}

/* Counts one allocation from `site`; true when it is the one to fail. */
static bool should_fail(uintptr_t site) {
  pthread_mutex_lock(&lock);
  bool fail = false;
  if (armed) {
    count++;
    put(&sites, site, site, 0);
    if (count == fail_at) {
      fail = true;
      failed = true;
      failed_site = site;
    }
  }
  pthread_mutex_unlock(&lock);
  if (fail) errno = ENOMEM;
  return fail;
}

static void *record(void *p, uintptr_t site, size_t size) {
  if (!p) return p;
  pthread_mutex_lock(&lock);
  if (armed) put(&blocks, (uintptr_t)p, site, size);
  pthread_mutex_unlock(&lock);
  return p;
}

static void forget_block(void *p) {
  if (!p) return;
  pthread_mutex_lock(&lock);
  drop(&blocks, (uintptr_t)p);
  pthread_mutex_unlock(&lock);
}

#define CALLER ((uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0)))

__attribute__((noinline)) void *__wrap_malloc(size_t n) {
  uintptr_t site = CALLER;
  if (should_fail(site)) return NULL;
  return record(__real_malloc(n), site, n);
}

__attribute__((noinline)) void *__wrap_calloc(size_t k, size_t n) {
  uintptr_t site = CALLER;
  if (should_fail(site)) return NULL;
  return record(__real_calloc(k, n), site, k * n);
}

__attribute__((noinline)) void *__wrap_realloc(void *p, size_t n) {
  uintptr_t site = CALLER;
  if (should_fail(site)) return NULL; /* p stays valid, as with a real failure */
  void *q = __real_realloc(p, n);
  if (q) {
    forget_block(p);
    record(q, site, n);
  }
  return q;
}

__attribute__((noinline)) void *__wrap_aligned_alloc(size_t a, size_t n) {
  uintptr_t site = CALLER;
  if (should_fail(site)) return NULL;
  return record(__real_aligned_alloc(a, n), site, n);
}

__attribute__((noinline)) int __wrap_posix_memalign(void **p, size_t a, size_t n) {
  uintptr_t site = CALLER;
  if (should_fail(site)) return ENOMEM;
  int rc = __real_posix_memalign(p, a, n);
  if (rc == 0) record(*p, site, n);
  return rc;
}

__attribute__((noinline)) char *__wrap_strdup(const char *s) {
  uintptr_t site = CALLER;
  if (should_fail(site)) return NULL;
  return record(__real_strdup(s), site, strlen(s) + 1);
}

__attribute__((noinline)) char *__wrap_strndup(const char *s, size_t n) {
  uintptr_t site = CALLER;
  if (should_fail(site)) return NULL;
  char *r = __real_strndup(s, n);
  return record(r, site, r ? strlen(r) + 1 : 0);
}

void __wrap_free(void *p) {
  forget_block(p);
  __real_free(p);
}

__attribute__((noinline)) FILE *__wrap_fopen(const char *path, const char *mode) {
  uintptr_t site = CALLER;
  if (should_fail(site)) return NULL;
  return __real_fopen(path, mode);
}

/* With _FILE_OFFSET_BITS=64 (Meson's default) <stdio.h> renames fopen and
 * tmpfile to these. */
__attribute__((noinline)) FILE *__wrap_fopen64(const char *path, const char *mode) {
  uintptr_t site = CALLER;
  if (should_fail(site)) return NULL;
  return __real_fopen64(path, mode);
}

__attribute__((noinline)) FILE *__wrap_tmpfile64(void) {
  uintptr_t site = CALLER;
  if (should_fail(site)) return NULL;
  return __real_tmpfile64();
}

void fa_arm(uint64_t at) {
  pthread_mutex_lock(&lock);
  armed = true;
  count = 0;
  fail_at = at;
  failed = false;
  failed_site = 0;
  pthread_mutex_unlock(&lock);
}

void fa_disarm(void) {
  pthread_mutex_lock(&lock);
  armed = false;
  pthread_mutex_unlock(&lock);
}

uint64_t fa_count(void) {
  pthread_mutex_lock(&lock);
  uint64_t n = count;
  pthread_mutex_unlock(&lock);
  return n;
}

bool fa_failed(uintptr_t *site) {
  pthread_mutex_lock(&lock);
  bool f = failed;
  if (site) *site = failed_site;
  pthread_mutex_unlock(&lock);
  return f;
}

size_t fa_live(uintptr_t *out_sites, size_t *sizes, size_t max) {
  pthread_mutex_lock(&lock);
  size_t k = 0;
  for (size_t i = 0; i < blocks.cap; i++)
    if (blocks.s[i].key > 1) {
      if (k < max) {
        out_sites[k] = blocks.s[i].site;
        sizes[k] = blocks.s[i].size;
      }
      k++;
    }
  pthread_mutex_unlock(&lock);
  return k;
}

void fa_forget(void) {
  pthread_mutex_lock(&lock);
  if (blocks.cap) memset(blocks.s, 0, blocks.cap * sizeof *blocks.s);
  blocks.used = blocks.live = 0;
  pthread_mutex_unlock(&lock);
}

size_t fa_sites(uintptr_t *out, size_t max) {
  pthread_mutex_lock(&lock);
  size_t k = 0;
  for (size_t i = 0; i < sites.cap; i++)
    if (sites.s[i].key > 1) {
      if (k < max) out[k] = sites.s[i].key;
      k++;
    }
  pthread_mutex_unlock(&lock);
  return k;
}

void fa_clear_sites(void) {
  pthread_mutex_lock(&lock);
  if (sites.cap) memset(sites.s, 0, sites.cap * sizeof *sites.s);
  sites.used = sites.live = 0;
  pthread_mutex_unlock(&lock);
}

/* The linker defines this at the start of the program's image. */
extern const char __executable_start[];

uintptr_t fa_site_offset(uintptr_t site) { return site - (uintptr_t)__executable_start; }

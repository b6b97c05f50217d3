/* Helpers shared by the C tests (see testutil.h). */
#include "tests/common/testutil.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *tu_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n - 1, f);
    if (n < cap - 1) break; /* end of file or a read error (checked below) */
    char *nb = realloc(buf, cap * 2);
    if (!nb) free(buf);
    buf = nb;
    cap *= 2;
  }
  bool failed = ferror(f) != 0;
  fclose(f);
  if (!buf || failed) {
    free(buf);
    return NULL;
  }
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool has_suffix(const char *name, const char *suffix) {
  size_t n = strlen(name), k = strlen(suffix);
  return n >= k && strcmp(name + n - k, suffix) == 0;
}

int tu_list_dir(const char *dir, const char *suffix, char ***names) {
  *names = NULL;
  DIR *d = opendir(dir);
  if (!d) return -1;
  char **v = NULL;
  int n = 0, cap = 0;
  bool ok = true;
  struct dirent *e;
  while (ok && (e = readdir(d))) {
    if (e->d_name[0] == '.' || (suffix && !has_suffix(e->d_name, suffix))) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **nv = realloc(v, (size_t)cap * sizeof *nv);
      if (!nv) {
        ok = false;
        break;
      }
      v = nv;
    }
    v[n] = strdup(e->d_name);
    ok = v[n++] != NULL;
  }
  closedir(d);
  if (!ok) {
    tu_free_names(v, n);
    return -1;
  }
  if (n) qsort(v, (size_t)n, sizeof *v, cmp_name);
  *names = v;
  return n;
}

void tu_free_names(char **names, int n) {
  for (int i = 0; names && i < n; i++) free(names[i]);
  free(names);
}

int tu_run_each(const char *dir, const char *suffix, bool (*run)(const char *dir, const char *name, void *user),
                void *user, int *count) {
  char **names;
  int n = tu_list_dir(dir, suffix, &names);
  if (n < 0) {
    fprintf(stderr, "cannot open %s\n", dir);
    return -1;
  }
  int failed = 0;
  for (int i = 0; i < n; i++) {
    bool ok = run(dir, names[i], user);
    printf("%s %s\n", ok ? "ok  " : "FAIL", names[i]);
    fflush(stdout);
    failed += !ok;
  }
  tu_free_names(names, n);
  *count = n;
  return failed;
}

int tu_count_threads(void) {
  DIR *d = opendir("/proc/self/task");
  if (!d) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

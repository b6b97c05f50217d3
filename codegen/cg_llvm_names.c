/*
 * Checks a user's CPU name and feature list against the names LLVM knows
 * for the target (cg_llvm_names_tables, generated from llc at build time), so
 * that an unknown name is an error naming it, with the nearest known name
 * as a hint, instead of a warning LLVM would print on stderr.
 */
#include <string.h>

#include "codegen/cg_llvm_names.h"

/* Longest name compared for a suggestion; LLVM's names are shorter. */
#define NAME_MAX_LEN 63

static const cg_llvm_names *find_table(const char *target) {
  for (size_t i = 0; i < cg_llvm_names_ntables; i++)
    if (strcmp(cg_llvm_names_tables[i].target, target) == 0) return &cg_llvm_names_tables[i];
  return NULL;
}

static bool in_list(const char *list, const char *name, size_t len) {
  for (const char *p = list; *p; p += strlen(p) + 1)
    if (strlen(p) == len && memcmp(p, name, len) == 0) return true;
  return false;
}

/* Edit distance (insert, delete, substitute one character); names longer
 * than NAME_MAX_LEN are never close to anything. */
static size_t distance(const char *a, size_t la, const char *b) {
  size_t lb = strlen(b);
  if (la > NAME_MAX_LEN || lb > NAME_MAX_LEN) return (size_t)-1;
  size_t row[NAME_MAX_LEN + 1];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag_prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag_prev + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag_prev = up;
    }
  }
  return row[lb];
}

/* The known name nearest to name[0..len), or NULL when none is within a
 * third of its length (at least 2 edits): a hint, not a guess. */
static const char *nearest(const char *list, const char *name, size_t len) {
  const char *best = NULL;
  size_t bestd = len / 3 < 2 ? 2 : len / 3;
  for (const char *p = list; *p; p += strlen(p) + 1) {
    size_t dd = distance(name, len, p);
    if (dd <= bestd && (!best || dd < bestd)) {
      best = p;
      bestd = dd;
    }
  }
  return best;
}

static void unknown(diag *d, const char *what, const char *target, const char *name, size_t len, const char *list,
                    const char *help) {
  const char *near = nearest(list, name, len);
  if (near)
    diag_error(d, "unknown %s '%.*s' for target %s (did you mean '%s'?)", what, (int)len, name, target, near);
  else
    diag_error(d, "unknown %s '%.*s' for target %s (`llc-19 -march=%s %s` lists the known ones)", what, (int)len, name,
               target, target, help);
}

bool cg_check_llvm_names(const char *target, const char *cpu, const char *features, diag *d) {
  const cg_llvm_names *t = find_table(target);
  if (!t) return true;
  bool ok = true;
  if (cpu && *cpu && !in_list(t->cpus, cpu, strlen(cpu))) {
    unknown(d, "CPU", target, cpu, strlen(cpu), t->cpus, "-mcpu=help");
    ok = false;
  }
  for (const char *p = features ? features : ""; *p;) {
    size_t len = strcspn(p, ",");
    if (len > 0) {
      if (p[0] != '+' && p[0] != '-') {
        diag_error(d, "feature '%.*s' for target %s needs a sign: '+%.*s' enables it, '-%.*s' disables it", (int)len, p,
                   target, (int)len, p, (int)len, p);
        ok = false;
      } else if (!in_list(t->features, p + 1, len - 1)) {
        unknown(d, "feature", target, p + 1, len - 1, t->features, "-mattr=help");
        ok = false;
      }
    }
    p += len;
    if (*p == ',') p++;
  }
  return ok;
}

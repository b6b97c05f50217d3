/*
 * Small helpers shared by the C test programs: reading a whole file,
 * listing a folder's entries in a stable (sorted) order, running a case
 * per entry, counting the process's threads. Plain C17 + POSIX with no
 * kiln dependency, so that every test (internal or public API, cmocka or
 * standalone, the fuzz replayer) can link it. Apart from tu_run_each,
 * which prints a line per entry it runs, the helpers print nothing: the
 * caller reports.
 */
#ifndef KILN_TESTS_COMMON_TESTUTIL_H
#define KILN_TESTS_COMMON_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Reads the whole file into a malloc'd buffer with a NUL after the last
 * byte (so text can be used as a C string); *len (if not NULL) gets the
 * size without the NUL. NULL when the file cannot be opened or read, or
 * memory runs out. Caller frees. */
char *tu_read_file(const char *path, size_t *len);

/* The names of the entries of folder dir that do not start with '.' and
 * end in `suffix` (any name when suffix is NULL), sorted by strcmp, as a
 * malloc'd array of malloc'd strings in *names. Returns the count, or -1
 * when the folder cannot be read or memory runs out. Free with
 * tu_free_names. */
int tu_list_dir(const char *dir, const char *suffix, char ***names);
void tu_free_names(char **names, int n);

/* The driver of the tests that run one case per folder entry: calls
 * run(dir, name, user) on each entry tu_list_dir(dir, suffix) lists, in
 * that order, printing "ok   NAME" or "FAIL NAME" (stdout, flushed) after
 * each. Returns how many failed and sets *count to how many ran; -1 (with
 * "cannot open DIR" on stderr) when the folder cannot be read. */
int tu_run_each(const char *dir, const char *suffix, bool (*run)(const char *dir, const char *name, void *user),
                void *user, int *count);

/* Threads of this process (entries of /proc/self/task), or -1 where that
 * cannot be read. */
int tu_count_threads(void);

#endif

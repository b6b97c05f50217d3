/*
 * The negative corpus tests/unit/bad_kir: every malformed file listed in
 * expected.txt must be refused with one message of the form
 *
 *   FILE:LINE:COL: error: ...<expected substring>...
 *     <the source line>
 *     <caret under COL>
 *
 * Usage: unit_bad_kir DIR            parses each file with ir_parse_module
 *        unit_bad_kir DIR KILN       runs `KILN opt FILE` on each and expects
 *                                    exit code 1, nothing on stdout, and the
 *                                    message on stderr
 * Every .kir file in DIR must be listed (and every listed file exist), so
 * that a new file cannot be forgotten.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/unit.h"

static const char *dir = ".";
static const char *kiln = NULL;

typedef struct entry {
  char file[128];
  int line, col;
  char msg[256];
} entry;

static entry entries[256];
static int nentries;

/* DIR/FILE into path; fails the test if it does not fit. */
static void join(char *path, size_t n, const char *file) {
  int k = snprintf(path, n, "%s/%s", dir, file);
  if (k < 0 || (size_t)k >= n) {
    print_error("path too long: %s/%s\n", dir, file);
    fail();
  }
}

static char *trim(char *s) {
  while (*s == ' ') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = 0;
  return s;
}

static void load_table(void) {
  char path[4096];
  snprintf(path, sizeof path, "%s/expected.txt", dir);
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(1);
  }
  char line[1024];
  int lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char *s = trim(line);
    if (!*s || *s == '#') continue;
    char *bar1 = strstr(s, " | ");
    char *bar2 = bar1 ? strstr(bar1 + 3, " | ") : NULL;
    if (!bar2 || nentries == (int)(sizeof entries / sizeof entries[0])) {
      fprintf(stderr, "%s:%d: malformed line\n", path, lineno);
      exit(1);
    }
    *bar1 = *bar2 = 0;
    entry *e = &entries[nentries++];
    snprintf(e->file, sizeof e->file, "%s", trim(s));
    if (sscanf(trim(bar1 + 3), "%d:%d", &e->line, &e->col) != 2) {
      fprintf(stderr, "%s:%d: bad LINE:COL\n", path, lineno);
      exit(1);
    }
    snprintf(e->msg, sizeof e->msg, "%s", trim(bar2 + 3));
  }
  fclose(f);
  if (nentries < 25) {
    fprintf(stderr, "%s: only %d entries (the corpus must keep at least 25)\n", path, nentries);
    exit(1);
  }
}

static void test_table_covers_directory(void **state) {
  (void)state;
  char **names;
  int nfiles = tu_list_dir(dir, ".kir", &names);
  assert_true(nfiles >= 0);
  for (int f = 0; f < nfiles; f++) {
    bool listed = false;
    for (int i = 0; i < nentries; i++) listed = listed || strcmp(entries[i].file, names[f]) == 0;
    if (!listed) {
      print_error("%s/%s is not listed in expected.txt\n", dir, names[f]);
      tu_free_names(names, nfiles);
      fail();
    }
  }
  tu_free_names(names, nfiles);
  assert_int_equal(nfiles, nentries);
}

/* Checks one message against its entry: prefix, substring, the source
 * line and a caret under the column. */
static void check_message(const entry *e, const char *path, const char *text, size_t n, const char *msg) {
  char prefix[4352];
  snprintf(prefix, sizeof prefix, "%s:%d:%d: error: ", path, e->line, e->col);
  if (strncmp(msg, prefix, strlen(prefix)) != 0) {
    print_error("%s: expected the message to start with \"%s\", got \"%s\"\n", e->file, prefix, msg);
    fail();
  }
  const char *nl = strchr(msg, '\n');
  assert_non_null(nl);
  if (!strstr(msg, e->msg) || strstr(msg, e->msg) > nl) {
    print_error("%s: expected \"%s\" in the first line of \"%s\"\n", e->file, e->msg, msg);
    fail();
  }
  /* Second line: two spaces and the source line (cut at 300 bytes). */
  size_t ls = 0;
  int line = 1;
  for (size_t i = 0; i < n && line < e->line; i++)
    if (text[i] == '\n') {
      line++;
      ls = i + 1;
    }
  size_t le = ls;
  while (le < n && text[le] != '\n') le++;
  size_t shown = le - ls > 300 ? 300 : le - ls;
  const char *nul = memchr(text + ls, 0, shown); /* a message is a C string: it stops at a NUL */
  if (nul) shown = (size_t)(nul - (text + ls));
  assert_memory_equal(nl + 1, "  ", 2);
  assert_memory_equal(nl + 3, text + ls, shown);
  /* Third line: the caret under the column. */
  const char *caret_line = nl + 3 + shown;
  assert_int_equal(*caret_line, '\n');
  caret_line += 3;
  int ccol = e->col - 1 < 300 ? e->col - 1 : 300;
  for (int i = 0; i < ccol; i++) assert_true(caret_line[i] == ' ' || caret_line[i] == '\t');
  assert_int_equal(caret_line[ccol], '^');
}

static void test_parser(void **state) {
  (void)state;
  for (int i = 0; i < nentries; i++) {
    const entry *e = &entries[i];
    char path[4096];
    join(path, sizeof path, e->file);
    size_t n = 0;
    char *text = read_or_fail(path, &n);
    msgs d;
    msgs_init(&d);
    ir_module *m = ir_parse_module(text, n, path, &d.sink);
    if (m) {
      ir_module_destroy(m);
      print_error("%s parsed without error\n", path);
      fail();
    }
    assert_int_equal(d.count, 1);
    assert_int_equal(d.sink.errors, 1);
    check_message(e, path, text, n, d.text);
    free(text);
  }
}

/* Runs `kiln opt path`, capturing stdout and stderr into files. */
static int run_opt(const char *path, char *out, size_t outn, char *err, size_t errn) {
  char of[] = "/tmp/kiln_bad_kir_out_XXXXXX", ef[] = "/tmp/kiln_bad_kir_err_XXXXXX";
  int ofd = mkstemp(of), efd = mkstemp(ef);
  assert_true(ofd >= 0 && efd >= 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(ofd, 1);
    dup2(efd, 2);
    execl(kiln, kiln, "opt", path, (char *)NULL);
    _exit(127);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  ssize_t k = pread(ofd, out, outn - 1, 0);
  out[k > 0 ? k : 0] = 0;
  k = pread(efd, err, errn - 1, 0);
  err[k > 0 ? k : 0] = 0;
  close(ofd);
  close(efd);
  unlink(of);
  unlink(ef);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_kiln_opt(void **state) {
  (void)state;
  for (int i = 0; i < nentries; i++) {
    const entry *e = &entries[i];
    char path[4096], prefix[4352];
    join(path, sizeof path, e->file);
    static char out[65536], err[65536];
    int rc = run_opt(path, out, sizeof out, err, sizeof err);
    if (rc != 1) {
      print_error("kiln opt %s: exit code %d (want 1); stderr:\n%s\n", path, rc, err);
      fail();
    }
    assert_string_equal(out, "");
    snprintf(prefix, sizeof prefix, "%s:%d:%d: error: ", path, e->line, e->col);
    assert_contains(err, prefix);
    assert_contains(err, e->msg);
  }
}

int main(int argc, char **argv) {
  if (argc > 1) dir = argv[1];
  if (argc > 2) kiln = argv[2];
  load_table();
  const struct CMUnitTest parse_tests[] = {
      cmocka_unit_test(test_table_covers_directory),
      cmocka_unit_test(test_parser),
  };
  const struct CMUnitTest opt_tests[] = {
      cmocka_unit_test(test_kiln_opt),
  };
  if (kiln) return cmocka_run_group_tests(opt_tests, NULL, NULL);
  return cmocka_run_group_tests(parse_tests, NULL, NULL);
}

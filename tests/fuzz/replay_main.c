/*
 * A main() for the fuzz targets without libFuzzer: feeds every file named
 * on the command line (a directory: every regular file in it, sorted) to
 * LLVMFuzzerTestOneInput once. Meson's tests use it to replay the seed
 * corpora, so that CI checks every committed input, crashes found earlier
 * included, on every build (and under the sanitizers in the ASan build).
 * Exits 0 when all inputs ran; a failed property aborts inside the target.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/common/testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  size_t n = 0;
  char *buf = tu_read_file(path, &n);
  if (!buf) {
    fprintf(stderr, "replay: cannot read %s\n", path);
    return 1;
  }
  /* An exact-size copy, so that ASan sees reads past the end. */
  uint8_t *exact = malloc(n ? n : 1);
  if (exact) memcpy(exact, buf, n);
  free(buf);
  if (!exact) {
    fprintf(stderr, "replay: out of memory for %s\n", path);
    return 1;
  }
  LLVMFuzzerTestOneInput(exact, n);
  free(exact);
  return 0;
}

static int run_dir(const char *dir, int *count) {
  char **names;
  int n = tu_list_dir(dir, NULL, &names);
  if (n < 0) {
    fprintf(stderr, "replay: cannot open %s\n", dir);
    return 1;
  }
  int rc = 0;
  for (int i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
      rc |= run_file(path);
      ++*count;
    }
  }
  tu_free_names(names, n);
  return rc;
}

int main(int argc, char **argv) {
  int rc = 0, count = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
      rc = 1;
    } else if (S_ISDIR(st.st_mode)) {
      rc |= run_dir(argv[i], &count);
    } else {
      rc |= run_file(argv[i]);
      count++;
    }
  }
  if (count == 0) {
    fprintf(stderr, "replay: no inputs\n");
    return 1;
  }
  printf("replay: %d input(s) ran\n", count);
  return rc;
}

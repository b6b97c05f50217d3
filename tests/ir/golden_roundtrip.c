/*
 * The golden corpus: every .kir file in tests/ir/golden is canonical printer
 * output, so parsing and printing it again must give the same bytes. The
 * corpus must also hold at least 30 files and use every op of the op table
 * (read through ir_op_name, so an op added to ir/ops.def without a golden
 * file makes this test fail).
 *
 * Each module is also run through the interpreter twice on the same
 * pseudo-random inputs (custom calls answered by a stub that writes zeros):
 * evaluation must succeed and give the same bytes both times. The values
 * themselves are checked by the NumPy cases (eval_cases.c), not here.
 *
 * Usage: test_ir_golden GOLDEN_DIR
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/eval.h"
#include "ir/ir.h"
#include "ir/literal.h"
#include "tests/common/testutil.h"

#define MIN_FILES 30

static void print_diag(void *user, diag_level level, const char *msg) {
  (void)level;
  fprintf(stderr, "  [%s] %s\n", (const char *)user, msg);
}

/* Reports the first line where a and b differ. */
static void report_diff(const char *name, const char *a, const char *b) {
  int line = 1;
  const char *la = a, *lb = b;
  while (*a && *a == *b) {
    if (*a == '\n') {
      line++;
      la = a + 1;
      lb = b + 1;
    }
    a++, b++;
  }
  int na = (int)strcspn(la, "\n"), nb = (int)strcspn(lb, "\n");
  fprintf(stderr, "  [%s] line %d differs:\n    file:    %.*s\n    printed: %.*s\n", name, line, na, la, nb, lb);
}

static bool stub_call(void *user, const char *target, const char *config, int nin, const ir_tensor *in, int nout,
                      ir_tensor *out, char *err, size_t errn) {
  (void)user, (void)target, (void)config, (void)nin, (void)in, (void)err, (void)errn;
  for (int i = 0; i < nout; i++) memset(out[i].data, 0, (size_t)ir_shape_bytes(&out[i].shape));
  return true;
}

/* Fills an array of shape s (in any layout) with values from a fixed
 * sequence: floats in [-2, 2), integers in [-3, 9), pred alternating. */
static void fill(const ir_shape *s, void *data, uint64_t *seed) {
  int64_t n = ir_shape_elements(s);
  for (int64_t i = 0; i < n; i++) {
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t r = (uint32_t)(*seed >> 33);
    if (ir_type_is_float(s->type)) ir_elem_set_f(s->type, data, i, (double)(r % 4096) / 1024.0 - 2.0);
    else ir_elem_set_i(s->type, data, i, (int64_t)(r % 12) - 3);
  }
}

/* Evaluates m twice on the same inputs; true if both runs succeed and agree. */
static bool eval_twice(const ir_module *m, const char *name) {
  const ir_comp *c = ir_module_entry(m);
  uint32_t np = ir_comp_num_params(c), no = c->insts[c->root].ntuple;
  void **in = calloc(np + 1, sizeof *in), **out[2] = {calloc(no + 1, sizeof(void *)), calloc(no + 1, sizeof(void *))};
  bool ok = in && out[0] && out[1];
  uint64_t seed = 12345;
  for (uint32_t p = 0; ok && p < np; p++) {
    const ir_shape *s = &c->insts[ir_comp_param(c, p)].shape;
    in[p] = malloc((size_t)ir_shape_bytes(s) + 1);
    ok = in[p] != NULL;
    if (ok) fill(s, in[p], &seed);
  }
  ir_eval_opts opts = {stub_call, NULL};
  diag d = {print_diag, (void *)name, 0};
  for (int r = 0; ok && r < 2; r++) {
    for (uint32_t o = 0; ok && o < no; o++) {
      size_t bytes = (size_t)ir_shape_bytes(&c->insts[c->root].tuple[o]);
      out[r][o] = malloc(bytes + 1);
      ok = out[r][o] != NULL;
      if (ok) memset(out[r][o], r ? 0x5A : 0xA5, bytes);
    }
    ok = ok && ir_eval_module(m, &opts, (const void *const *)in, out[r], &d);
  }
  for (uint32_t o = 0; ok && o < no; o++) {
    ok = memcmp(out[0][o], out[1][o], (size_t)ir_shape_bytes(&c->insts[c->root].tuple[o])) == 0;
    if (!ok) fprintf(stderr, "  [%s] output %u differs between two runs\n", name, o);
  }
  for (uint32_t p = 0; in && p < np; p++) free(in[p]);
  for (int r = 0; r < 2; r++)
    for (uint32_t o = 0; out[r] && o < no; o++) free(out[r][o]);
  free(in), free(out[0]), free(out[1]);
  return ok;
}

static bool check_file(const char *dir, const char *name, void *user) {
  bool *used = user;
  char path[4096];
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return false;
  size_t n;
  char *text = tu_read_file(path, &n);
  if (!text) {
    fprintf(stderr, "  [%s] cannot read %s\n", name, path);
    return false;
  }
  diag d = {print_diag, (void *)name, 0};
  ir_module *m = ir_parse_module(text, n, path, &d);
  bool ok = m != NULL;
  if (ok) {
    for (uint32_t c = 0; c < m->ncomps; c++)
      for (uint32_t i = 0; i < m->comps[c]->ninsts; i++) used[m->comps[c]->insts[i].op] = true;
    char *printed = ir_print_module(m, NULL);
    ok = printed && strlen(printed) == n && memcmp(printed, text, n) == 0;
    if (!ok && printed) report_diff(name, text, printed);
    free(printed);
    if (ok && !eval_twice(m, name)) {
      fprintf(stderr, "  [%s] evaluation failed or was not deterministic\n", name);
      ok = false;
    }
  }
  ir_module_destroy(m);
  free(text);
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s GOLDEN_DIR\n", argv[0]);
    return 2;
  }
  bool used[IR_OP_COUNT] = {false};
  int nn, failed = tu_run_each(argv[1], ".kir", check_file, used, &nn);
  if (failed < 0) return 1;
  int missing = 0;
  for (int op = 0; op < IR_OP_COUNT; op++)
    if (!used[op]) {
      fprintf(stderr, "op %s appears in no golden file\n", ir_op_name((ir_op)op));
      missing++;
    }
  if (nn < MIN_FILES) fprintf(stderr, "only %d golden files; the corpus needs at least %d\n", nn, MIN_FILES);
  printf("%d golden files, %d failed; %d ops without a golden file\n", nn, failed, missing);
  return failed || missing || nn < MIN_FILES ? 1 : 0;
}

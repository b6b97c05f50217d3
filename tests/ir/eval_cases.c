/*
 * Runs the interpreter on every case under tests/ir/eval/cases (written by
 * tests/ir/eval/gen_cases.py with NumPy; see there for the file layout) and
 * compares with the NumPy results (exactly for integers and pred, within
 * the float tolerances documented in npy_check.h).
 * Output buffers are pre-filled with a pattern so an element the
 * interpreter forgets to write shows up as a mismatch.
 *
 * It also checks that the cases together use every op of the op table, so
 * an op added without a NumPy-checked case fails this test.
 *
 * Usage: test_ir_eval_cases CASES_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/eval.h"
#include "ir/ir.h"
#include "tests/common/testutil.h"
#include "tests/ir/npy_check.h"
#include "tools/npy.h"

static void print_diag(void *user, diag_level level, const char *msg) {
  fprintf(stderr, "  [%s] %s: %s\n", (const char *)user, level == DIAG_ERROR ? "error" : "note", msg);
}

/* The array must hold shape s in its layout's physical order. */
static bool npy_matches(const npy_array *a, const ir_shape *s, const char *what, const char *name) {
  ir_type t;
  if (!npy_check_type(a->dtype, &t) || t != s->type) {
    fprintf(stderr, "  [%s] %s: .npy dtype does not match %s\n", name, what, ir_type_name(s->type));
    return false;
  }
  bool ok = a->rank == s->rank;
  for (int i = 0; ok && i < s->rank; i++) ok = a->dims[i] == s->dims[s->minor_to_major[s->rank - 1 - i]];
  if (!ok) {
    char buf[160];
    fprintf(stderr, "  [%s] %s: .npy dims do not match %s in its layout's order\n", name, what,
            ir_shape_str(s, buf, sizeof buf));
  }
  return ok;
}

/* Handler of the custom calls the cases use:
 *   kiln.test.axpy(x, y), backend_config="a": a * x + y on f32 arrays,
 *   computed in double and rounded once. */
static bool test_custom_call(void *user, const char *target, const char *config, int nin, const ir_tensor *in,
                             int nout, ir_tensor *out, char *err, size_t errn) {
  (void)user;
  if (strcmp(target, "kiln.test.axpy") != 0) {
    snprintf(err, errn, "unknown target %s", target);
    return false;
  }
  if (nin != 2 || nout != 1 || in[0].shape.type != IR_F32 || in[1].shape.type != IR_F32 ||
      out[0].shape.type != IR_F32 || !config) {
    snprintf(err, errn, "kiln.test.axpy takes two f32 arrays and a config");
    return false;
  }
  double a = strtod(config, NULL);
  int64_t n = ir_shape_elements(&out[0].shape);
  for (int64_t i = 0; i < n; i++)
    ((float *)out[0].data)[i] =
        (float)(a * ((const float *)in[0].data)[i] + ((const float *)in[1].data)[i]);
  return true;
}

static bool path_join(char *buf, size_t n, const char *a, const char *b, const char *c) {
  int w = snprintf(buf, n, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");
  return w > 0 && (size_t)w < n;
}

static bool run_case(const char *dir, const char *name, void *user) {
  bool *used = user;
  char path[4096];
  size_t n;
  if (!path_join(path, sizeof path, dir, name, "model.kir")) return false;
  char *text = tu_read_file(path, &n);
  if (!text) {
    fprintf(stderr, "  [%s] cannot read %s\n", name, path);
    return false;
  }
  diag d = {print_diag, (void *)name, 0};
  ir_module *m = ir_parse_module(text, n, path, &d);
  free(text);
  if (!m) return false;
  for (uint32_t c = 0; c < m->ncomps; c++)
    for (uint32_t i = 0; i < m->comps[c]->ninsts; i++) used[m->comps[c]->insts[i].op] = true;

  const ir_comp *entry = ir_module_entry(m);
  uint32_t np = ir_comp_num_params(entry);
  const ir_inst *root = &entry->insts[entry->root];
  uint32_t no = root->ntuple;
  npy_array *ins = calloc(np + 1, sizeof *ins), *want = calloc(no + 1, sizeof *want);
  const void **in_ptrs = calloc(np + 1, sizeof *in_ptrs);
  void **out_ptrs = calloc(no + 1, sizeof *out_ptrs);
  bool ok = ins && want && in_ptrs && out_ptrs;
  char err[512], file[64];
  for (uint32_t p = 0; ok && p < np; p++) {
    snprintf(file, sizeof file, "in%u.npy", p);
    ok = path_join(path, sizeof path, dir, name, file) && npy_read_file(path, &ins[p], err, sizeof err);
    if (!ok) fprintf(stderr, "  [%s] %s: %s\n", name, file, err);
    else ok = npy_matches(&ins[p], &entry->insts[ir_comp_param(entry, p)].shape, file, name);
    if (ok) in_ptrs[p] = ins[p].data;
  }
  for (uint32_t o = 0; ok && o < no; o++) {
    snprintf(file, sizeof file, "out%u.npy", o);
    ok = path_join(path, sizeof path, dir, name, file) && npy_read_file(path, &want[o], err, sizeof err);
    if (!ok) fprintf(stderr, "  [%s] %s: %s\n", name, file, err);
    else ok = npy_matches(&want[o], &root->tuple[o], file, name);
    if (ok) {
      size_t bytes = (size_t)ir_shape_bytes(&root->tuple[o]);
      out_ptrs[o] = malloc(bytes ? bytes : 1);
      ok = out_ptrs[o] != NULL;
      if (ok) memset(out_ptrs[o], 0xA5, bytes); /* unwritten elements show up */
    }
  }
  if (ok) {
    ir_eval_opts opts = {test_custom_call, NULL};
    ok = ir_eval_module(m, &opts, in_ptrs, out_ptrs, &d);
    if (!ok) fprintf(stderr, "  [%s] evaluation failed\n", name);
  }
  for (uint32_t o = 0; ok && o < no; o++) {
    const ir_shape *s = &root->tuple[o];
    if (npy_check_compare(name, (int)o, s->type, out_ptrs[o], want[o].data, ir_shape_elements(s))) ok = false;
  }
  for (uint32_t p = 0; p < np && ins; p++) npy_free(&ins[p]);
  for (uint32_t o = 0; o < no && want; o++) npy_free(&want[o]);
  for (uint32_t o = 0; o < no && out_ptrs; o++) free(out_ptrs[o]);
  free(ins), free(want), free(in_ptrs), free(out_ptrs);
  ir_module_destroy(m);
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CASES_DIR\n", argv[0]);
    return 2;
  }
  bool used[IR_OP_COUNT] = {false};
  int nn, failed = tu_run_each(argv[1], NULL, run_case, used, &nn);
  if (failed < 0) return 1;
  int missing = 0;
  for (int op = 0; op < IR_OP_COUNT; op++)
    if (!used[op]) {
      fprintf(stderr, "op %s appears in no NumPy-checked case\n", ir_op_name((ir_op)op));
      missing++;
    }
  printf("%d cases, %d failed; %d ops without a case\n", nn, failed, missing);
  return failed || missing || nn == 0 ? 1 : 0;
}

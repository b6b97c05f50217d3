/*
 * `kiln eval` end to end: runs the kiln executable on one NumPy case
 * (tests/ir/eval/cases/NAME) with every input given as --input NAME=FILE.npy
 * and --output-dir, then compares each written NAME.npy with the case's
 * expected output (tolerances in npy_check.h). The case must use row-major
 * layouts (the CLI passes row-major arrays) and outputs with plain names.
 *
 * Usage: test_cli_eval KILN_EXE CASE_DIR OUT_DIR
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ir/ir.h"
#include "tests/common/testutil.h"
#include "tests/ir/npy_check.h"
#include "tools/npy.h"

static void print_diag(void *user, diag_level level, const char *msg) {
  (void)user, (void)level;
  fprintf(stderr, "%s\n", msg);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s KILN_EXE CASE_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  const char *kiln = argv[1], *dir = argv[2], *outdir = argv[3];
  char path[4096];
  snprintf(path, sizeof path, "%s/model.kir", dir);
  size_t n;
  char *text = tu_read_file(path, &n);
  if (!text) {
    fprintf(stderr, "cannot read %s\n", path);
    return 1;
  }
  diag d = {print_diag, NULL, 0};
  ir_module *m = ir_parse_module(text, n, path, &d);
  free(text);
  if (!m) return 1;
  const ir_comp *c = ir_module_entry(m);
  uint32_t np = ir_comp_num_params(c);

  /* Stale outputs of an earlier run must not pass for new ones. */
  for (uint32_t o = 0; o < c->noutputs; o++) {
    char op[4096];
    snprintf(op, sizeof op, "%s/%s.npy", outdir, c->output_names[o]);
    unlink(op);
  }

  /* kiln eval MODEL --input NAME=inP.npy ... --output-dir OUT */
  char **args = calloc(np * 2 + 6, sizeof *args);
  int k = 0;
  args[k++] = (char *)kiln;
  args[k++] = "eval";
  args[k++] = path;
  for (uint32_t p = 0; p < np; p++) {
    const ir_inst *in = &c->insts[ir_comp_param(c, p)];
    args[k++] = "--input";
    size_t l = strlen(dir) + strlen(in->io_name ? in->io_name : in->name) + 32;
    args[k] = malloc(l);
    snprintf(args[k++], l, "%s=%s/in%u.npy", in->io_name ? in->io_name : in->name, dir, p);
  }
  args[k++] = "--output-dir";
  args[k++] = (char *)outdir;
  args[k] = NULL;
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 1); /* the printed values are not checked here */
    execv(kiln, args);
    _exit(127);
  }
  int status = 0;
  bool ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!ok) fprintf(stderr, "kiln eval failed (status %d)\n", status);
  for (uint32_t p = 0; p < np; p++) free(args[4 + 2 * p]);
  free(args);

  const ir_inst *root = &c->insts[c->root];
  for (uint32_t o = 0; ok && o < c->noutputs; o++) {
    npy_array got, want;
    char err[512], gp[4096], wp[4096];
    snprintf(gp, sizeof gp, "%s/%s.npy", outdir, c->output_names[o]);
    snprintf(wp, sizeof wp, "%s/out%u.npy", dir, o);
    if (!npy_read_file(gp, &got, err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      ok = false;
      break;
    }
    if (!npy_read_file(wp, &want, err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      npy_free(&got);
      ok = false;
      break;
    }
    ir_type t;
    const ir_shape *s = &root->tuple[o];
    bool same = npy_check_type(got.dtype, &t) && t == s->type && got.dtype == want.dtype && got.rank == want.rank &&
                got.nbytes == want.nbytes;
    for (int i = 0; same && i < got.rank; i++) same = got.dims[i] == want.dims[i];
    if (!same) fprintf(stderr, "%s: dtype or shape differs from %s\n", gp, wp);
    else if (npy_check_compare(c->output_names[o], (int)o, t, got.data, want.data, npy_elements(&want))) same = false;
    else printf("ok %s\n", gp);
    ok = same;
    npy_free(&got);
    npy_free(&want);
  }
  ir_module_destroy(m);
  return ok ? 0 : 1;
}

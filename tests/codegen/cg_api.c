/*
 * The AOT compiler and the artifact loader through the public API:
 * determinism, the artifact's dynamic dependencies, failure modes (bad
 * target, CPU, name or path leave no file behind), cross-compiled objects,
 * every --emit stage, loader errors, run-time argument checks, concurrent
 * runs, and a custom_call whose symbol is missing.
 *
 * Expected numbers are computed by hand in the comments next to them.
 */
#include <dirent.h>
#include <elf.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kiln/artifact.h"
#include "kiln/kiln.h"
#include "tests/common/testutil.h"

/* y = relu(x @ w) with w = [[1,2],[3,4],[5,6],[7,8]]; plus tanh(x) (libm). */
static const char *MLP =
    "module mlp\n"
    "ENTRY %main outputs={\"y\", \"t\"} {\n"
    "  %x = f32[1,4] parameter(0), io_name=\"x\"\n"
    "  %w = f32[4,2] constant({{1, 2}, {3, 4}, {5, 6}, {7, 8}})\n"
    "  %d = f32[1,2] dot(%x, %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}\n"
    "  %z = f32[] constant(0)\n"
    "  %zb = f32[1,2] broadcast(%z), dimensions={}\n"
    "  %r = f32[1,2] max(%d, %zb)\n"
    "  %t = f32[1,4] tanh(%x)\n"
    "  ROOT %o = (f32[1,2], f32[1,4]) tuple(%r, %t)\n"
    "}\n";

/* A big elementwise op so the thread pool is used: y = x * 2 + 1. */
static const char *BIG =
    "module big\n"
    "ENTRY %main outputs={\"y\"} {\n"
    "  %x = f32[512,1024] parameter(0)\n"
    "  %two = f32[] constant(2)\n"
    "  %one = f32[] constant(1)\n"
    "  %tb = f32[512,1024] broadcast(%two), dimensions={}\n"
    "  %ob = f32[512,1024] broadcast(%one), dimensions={}\n"
    "  %m = f32[512,1024] mul(%x, %tb)\n"
    "  %y = f32[512,1024] add(%m, %ob)\n"
    "  ROOT %o = (f32[512,1024]) tuple(%y)\n"
    "}\n";

static char dir[] = "/tmp/kiln-cgapi-XXXXXX";
static char last_msg[4096];

static void keep(void *user, kiln_diag_level level, const char *msg) {
  (void)user;
  if (level == KILN_DIAG_ERROR && !last_msg[0]) snprintf(last_msg, sizeof last_msg, "%s", msg);
}

static kiln_context *ctx_new(void) {
  kiln_context *ctx;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  kiln_context_set_diagnostics(ctx, keep, NULL);
  last_msg[0] = 0;
  return ctx;
}

static kiln_model *model(kiln_context *ctx, const char *text) {
  kiln_model *m;
  assert_int_equal(kiln_model_from_kir(ctx, text, strlen(text), "t.kir", &m), KILN_OK);
  return m;
}

static char *path_in(const char *name) {
  static char buf[8][512];
  static int k;
  char *p = buf[k++ % 8];
  snprintf(p, 512, "%s/%s", dir, name);
  return p;
}

/* Number of entries in the test folder (temporary files must not remain). */
static int dir_entries(void) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static void clear_dir(void) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlink(path_in(e->d_name));
  closedir(d);
}

static void compile_to(kiln_context *ctx, const char *so, const char *h) {
  kiln_model *m = model(ctx, MLP);
  assert_int_equal(kiln_model_compile(m, "mlp", so, h), KILN_OK);
  kiln_model_destroy(m);
}

static void assert_same_file(const char *a, const char *b) {
  size_t na, nb;
  void *x = tu_read_file(a, &na), *y = tu_read_file(b, &nb);
  assert_non_null(x);
  assert_non_null(y);
  assert_int_equal(na, nb);
  assert_memory_equal(x, y, na);
  free(x);
  free(y);
}

/* Same model, same options: the same bytes, whether compiled to the same
 * path twice or into two folders (temporary names must not leak in). */
static void test_determinism(void **state) {
  (void)state;
  kiln_context *ctx = ctx_new();
  assert_int_equal(mkdir(path_in("d1"), 0777), 0);
  assert_int_equal(mkdir(path_in("d2"), 0777), 0);
  compile_to(ctx, path_in("d1/m.so"), path_in("d1/m.h"));
  compile_to(ctx, path_in("d2/m.so"), path_in("d2/m.h"));
  assert_same_file(path_in("d1/m.so"), path_in("d2/m.so"));
  assert_same_file(path_in("d1/m.h"), path_in("d2/m.h"));
  assert_int_equal(rename(path_in("d1/m.so"), path_in("first.so")), 0);
  compile_to(ctx, path_in("d1/m.so"), NULL);
  assert_same_file(path_in("d1/m.so"), path_in("first.so"));
  unlink(path_in("d1/m.so")), unlink(path_in("d1/m.h")), unlink(path_in("d2/m.so")), unlink(path_in("d2/m.h"));
  assert_int_equal(rmdir(path_in("d1")), 0); /* nothing else was left in them */
  assert_int_equal(rmdir(path_in("d2")), 0);
  kiln_context_destroy(ctx);
  clear_dir();
}

/* DT_NEEDED entries of an ELF64 shared object, read from its file. */
static int needed(const char *path, char names[][64], int max) {
  size_t n;
  unsigned char *f = (unsigned char *)tu_read_file(path, &n);
  assert_non_null(f);
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
  assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(f + eh->e_phoff);
  const Elf64_Dyn *dyn = NULL;
  for (int i = 0; i < eh->e_phnum; i++)
    if (ph[i].p_type == PT_DYNAMIC) dyn = (const Elf64_Dyn *)(f + ph[i].p_offset);
  assert_non_null(dyn);
  uint64_t strtab = 0;
  for (const Elf64_Dyn *d = dyn; d->d_tag != DT_NULL; d++)
    if (d->d_tag == DT_STRTAB) strtab = d->d_un.d_ptr;
  /* The string table's address to a file offset through the PT_LOADs. */
  uint64_t stroff = 0;
  for (int i = 0; i < eh->e_phnum; i++)
    if (ph[i].p_type == PT_LOAD && strtab >= ph[i].p_vaddr && strtab < ph[i].p_vaddr + ph[i].p_filesz)
      stroff = strtab - ph[i].p_vaddr + ph[i].p_offset;
  assert_true(stroff > 0);
  int k = 0;
  for (const Elf64_Dyn *d = dyn; d->d_tag != DT_NULL; d++)
    if (d->d_tag == DT_NEEDED && k < max) snprintf(names[k++], 64, "%s", (const char *)f + stroff + d->d_un.d_val);
  free(f);
  return k;
}

static void test_needed(void **state) {
  (void)state;
  kiln_context *ctx = ctx_new();
  kiln_model *m = model(ctx, MLP);
  assert_int_equal(kiln_model_compile(m, "mlp", path_in("n.so"), NULL), KILN_OK);
  char names[16][64];
  int n = needed(path_in("n.so"), names, 16);
  /* libm may or may not be needed (math is inlined where kiln has its own
   * implementation); nothing beyond libc, libm and libpthread is allowed. */
  bool libc = false;
  for (int i = 0; i < n; i++) {
    bool ok = !strcmp(names[i], "libc.so.6") || !strcmp(names[i], "libm.so.6") || !strcmp(names[i], "libpthread.so.0") ||
              !strncmp(names[i], "ld-linux", 8);
    if (!ok) fail_msg("unexpected dependency %s", names[i]);
    libc = libc || !strcmp(names[i], "libc.so.6");
  }
  assert_true(n > 0 && libc); /* readelf found the dynamic section */
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
  clear_dir();
}

static void test_bad_target_leaves_nothing(void **state) {
  (void)state;
  kiln_context *ctx = ctx_new();
  kiln_model *m = model(ctx, MLP);
  assert_int_equal(kiln_context_set_target(ctx, "bogus-unknown-none", NULL, NULL), KILN_OK);
  assert_int_equal(kiln_model_compile(m, "mlp", path_in("x.so"), path_in("x.h")), KILN_ERR_COMPILE);
  assert_non_null(strstr(last_msg, "bogus"));
  assert_int_equal(dir_entries(), 0);
  last_msg[0] = 0;
  assert_int_equal(kiln_context_set_target(ctx, NULL, "notacpu", NULL), KILN_OK);
  assert_int_equal(kiln_model_compile(m, "mlp", path_in("x.so"), path_in("x.h")), KILN_ERR_COMPILE);
  assert_non_null(strstr(last_msg, "notacpu"));
  assert_int_equal(dir_entries(), 0);
  last_msg[0] = 0;
  assert_int_equal(kiln_context_set_target(ctx, NULL, NULL, "+nosuchfeature"), KILN_OK);
  assert_int_equal(kiln_model_compile(m, "mlp", path_in("x.so"), NULL), KILN_ERR_COMPILE);
  assert_non_null(strstr(last_msg, "nosuchfeature"));
  assert_int_equal(dir_entries(), 0);
  assert_int_equal(kiln_context_set_target(ctx, NULL, NULL, NULL), KILN_OK);
  /* Reserved and malformed names. */
  assert_int_equal(kiln_model_compile(m, "artifact", path_in("x.so"), NULL), KILN_ERR_COMPILE);
  assert_int_equal(kiln_model_compile(m, "9lives", path_in("x.so"), NULL), KILN_ERR_COMPILE);
  assert_int_equal(kiln_model_compile(m, "a-b", path_in("x.so"), NULL), KILN_ERR_COMPILE);
  assert_int_equal(dir_entries(), 0);
  /* Unwritable places: a folder that does not exist, a file used as a folder. */
  last_msg[0] = 0;
  assert_int_equal(kiln_model_compile(m, "mlp", path_in("nodir/x.so"), NULL), KILN_ERR_COMPILE);
  assert_non_null(strstr(last_msg, "nodir"));
  FILE *f = fopen(path_in("file"), "w");
  fclose(f);
  assert_int_equal(kiln_model_compile(m, "mlp", path_in("file/x.so"), NULL), KILN_ERR_COMPILE);
  assert_int_equal(dir_entries(), 1);
  /* A header path that cannot be written removes the .so again. */
  assert_int_equal(kiln_model_compile(m, "mlp", path_in("ok.so"), path_in("nodir/ok.h")), KILN_ERR_COMPILE);
  assert_int_equal(dir_entries(), 1);
  /* A linker that fails. */
  assert_int_equal(kiln_context_set_linker(ctx, "false"), KILN_OK);
  assert_int_equal(kiln_model_compile(m, "mlp", path_in("ok.so"), NULL), KILN_ERR_COMPILE);
  assert_int_equal(dir_entries(), 1);
  assert_int_equal(kiln_context_set_linker(ctx, "/no/such/cc"), KILN_OK);
  assert_int_equal(kiln_model_compile(m, "mlp", path_in("ok.so"), NULL), KILN_ERR_COMPILE);
  assert_int_equal(dir_entries(), 1);
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
  clear_dir();
}

static void test_cross_compile(void **state) {
  (void)state;
  kiln_context *ctx = ctx_new();
  kiln_model *m = model(ctx, MLP);
  assert_int_equal(kiln_context_set_target(ctx, "aarch64-linux-gnu", NULL, NULL), KILN_OK);
  char *obj;
  size_t n;
  assert_int_equal(kiln_model_emit(m, "mlp", KILN_EMIT_OBJECT, &obj, &n), KILN_OK);
  assert_true(n > sizeof(Elf64_Ehdr));
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)obj;
  assert_int_equal(eh->e_machine, EM_AARCH64);
  kiln_free(obj);
  char *as;
  assert_int_equal(kiln_model_emit(m, "mlp", KILN_EMIT_ASM, &as, &n), KILN_OK);
  assert_non_null(strstr(as, "kiln_mlp_run:"));
  kiln_free(as);
  if (system("command -v aarch64-linux-gnu-gcc >/dev/null 2>&1") != 0) {
    last_msg[0] = 0;
    assert_int_equal(kiln_model_compile(m, "mlp", path_in("arm.so"), path_in("arm.h")), KILN_ERR_COMPILE);
    assert_non_null(strstr(last_msg, "aarch64-linux-gnu-gcc"));
    assert_int_equal(dir_entries(), 0);
  }
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
  clear_dir();
}

static void test_emit_stages(void **state) {
  (void)state;
  kiln_context *ctx = ctx_new();
  kiln_model *m = model(ctx, MLP);
  static const struct { kiln_emit_kind k; const char *needle; } want[] = {
      {KILN_EMIT_IR, "dot(%x, %w)"},
      {KILN_EMIT_LLVM, "@kiln_mlp_run(ptr"},
      {KILN_EMIT_ASM, "kiln_mlp_run:"},
      {KILN_EMIT_HEADER, "int kiln_mlp_run(const void *const *inputs, void *const *outputs, void *workspace);"},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char *s;
    size_t n;
    assert_int_equal(kiln_model_emit(m, "mlp", want[i].k, &s, &n), KILN_OK);
    assert_int_equal(strlen(s), n);
    if (!strstr(s, want[i].needle)) fail_msg("emit %d lacks '%s'", (int)want[i].k, want[i].needle);
    kiln_free(s);
  }
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
}

static void test_loader_errors(void **state) {
  (void)state;
  kiln_context *ctx = ctx_new();
  kiln_executable *a = (kiln_executable *)1;
  assert_int_equal(kiln_executable_open(ctx, path_in("missing.so"), &a), KILN_ERR_IO);
  assert_null(a);
  assert_non_null(strstr(kiln_context_last_error(ctx), "missing.so"));
  /* A shared object that is not an artifact. */
  kiln_status s = kiln_executable_open(ctx, "/lib/x86_64-linux-gnu/libm.so.6", &a);
  if (s != KILN_ERR_IO) {
    assert_int_equal(s, KILN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(kiln_context_last_error(ctx), "not a kiln artifact"));
  }
  /* A custom_call whose symbol nobody defines fails at load, naming it. */
  const char *cc =
      "module cc\n"
      "ENTRY %main outputs={\"y\"} {\n"
      "  %x = f32[2] parameter(0)\n"
      "  %y = f32[2] custom_call(%x), custom_call_target=\"kiln_test_no_such_kernel\"\n"
      "  ROOT %t = (f32[2]) tuple(%y)\n"
      "}\n";
  kiln_model *m = model(ctx, cc);
  assert_int_equal(kiln_model_compile(m, "cc", path_in("cc.so"), NULL), KILN_OK);
  assert_int_equal(kiln_executable_open(ctx, path_in("cc.so"), &a), KILN_ERR_IO);
  assert_non_null(strstr(kiln_context_last_error(ctx), "kiln_test_no_such_kernel"));
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
  clear_dir();
}

static void test_run_arguments(void **state) {
  (void)state;
  kiln_context *ctx = ctx_new();
  kiln_model *m = model(ctx, MLP);
  assert_int_equal(kiln_model_compile(m, "mlp", path_in("r.so"), NULL), KILN_OK);
  kiln_executable *a;
  assert_int_equal(kiln_executable_open(ctx, path_in("r.so"), &a), KILN_OK);
  assert_string_equal(kiln_executable_name(a), "mlp");
  const kiln_artifact_desc *d = kiln_executable_description(a);
  assert_int_equal(d->abi_version, KILN_ARTIFACT_ABI_VERSION);
  assert_int_equal(d->size, sizeof *d);
  assert_int_equal(d->num_inputs, 1);
  assert_string_equal(d->inputs[0].name, "x");
  assert_int_equal(d->inputs[0].dtype, KILN_ARTIFACT_F32);
  assert_int_equal(d->inputs[0].rank, 2);
  assert_int_equal(d->inputs[0].dims[1], 4);
  assert_int_equal(d->inputs[0].minor_to_major[0], 1);
  assert_int_equal(d->outputs[1].size_bytes, 16);
  assert_int_equal(kiln_executable_find_output(a, "t"), 1);
  assert_int_equal(kiln_executable_find_input(a, "nope"), -1);
  float x[4] = {1, -2, 3, 0.5f}, y[2], t[4];
  const void *in[1] = {x};
  void *out[2] = {y, t};
  /* x @ w = [1-6+15+3.5, 2-8+18+4] = [13.5, 16]; relu keeps both. */
  assert_int_equal(kiln_executable_run(a, in, out, NULL), KILN_OK);
  assert_true(y[0] == 13.5f && y[1] == 16.0f);
  assert_float_equal(t[1], tanhf(-2), 1e-6);
  float x2[4] = {-1, 0, 0, 0};
  in[0] = x2;
  assert_int_equal(kiln_executable_run(a, in, out, NULL), KILN_OK); /* [-1, -2] → relu → [0, 0] */
  assert_true(y[0] == 0 && y[1] == 0);
  assert_int_equal(kiln_executable_run(a, NULL, out, NULL), KILN_ERR_INVALID_ARGUMENT);
  assert_int_equal(kiln_executable_run(a, in, NULL, NULL), KILN_ERR_INVALID_ARGUMENT);
  const void *nullin[1] = {NULL};
  assert_int_equal(kiln_executable_run(a, nullin, out, NULL), KILN_ERR_INVALID_ARGUMENT);
  size_t ws = kiln_executable_workspace_size(a);
  assert_true(ws > 0);
  char *w = aligned_alloc(64, ws + 64);
  assert_int_equal(kiln_executable_run(a, in, out, w + 8), KILN_ERR_INVALID_ARGUMENT); /* misaligned */
  assert_int_equal(kiln_executable_run(a, in, out, w), KILN_OK);
  free(w);
  kiln_executable_destroy(a);
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
  clear_dir();
}

typedef struct job {
  kiln_executable *a;
  int ok;
} job;

static void *runner(void *arg) {
  job *j = arg;
  size_t n = 512 * 1024;
  float *x = malloc(n * 4), *y = malloc(n * 4);
  void *ws = kiln_executable_workspace_size(j->a) ? aligned_alloc(64, kiln_executable_workspace_size(j->a)) : NULL;
  j->ok = 1;
  for (int rep = 0; rep < 20 && j->ok; rep++) {
    for (size_t i = 0; i < n; i++) x[i] = (float)((i * 7 + (size_t)rep) % 1000);
    const void *in[1] = {x};
    void *out[1] = {y};
    if (kiln_executable_run(j->a, in, out, ws) != KILN_OK) j->ok = 0;
    for (size_t i = 0; i < n && j->ok; i++)
      if (y[i] != x[i] * 2 + 1) j->ok = 0;
  }
  free(x), free(y), free(ws);
  return NULL;
}

static void test_concurrent_runs(void **state) {
  (void)state;
  kiln_context *ctx = ctx_new();
  kiln_model *m = model(ctx, BIG);
  assert_int_equal(kiln_model_compile(m, "big", path_in("big.so"), NULL), KILN_OK);
  kiln_executable *a;
  assert_int_equal(kiln_executable_open(ctx, path_in("big.so"), &a), KILN_OK);
  kiln_executable_set_num_threads(a, 3);
  assert_int_equal(kiln_executable_num_threads(a), 3);
  pthread_t th[4];
  job jobs[4];
  for (int i = 0; i < 4; i++) {
    jobs[i].a = a;
    assert_int_equal(pthread_create(&th[i], NULL, runner, &jobs[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(jobs[i].ok, 1);
  }
  kiln_executable_set_num_threads(a, 0);
  assert_true(kiln_executable_num_threads(a) >= 1);
  kiln_executable_destroy(a);
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
  clear_dir();
}

int main(void) {
  if (!mkdtemp(dir)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_determinism),   cmocka_unit_test(test_needed),
      cmocka_unit_test(test_bad_target_leaves_nothing), cmocka_unit_test(test_cross_compile),
      cmocka_unit_test(test_emit_stages),   cmocka_unit_test(test_loader_errors),
      cmocka_unit_test(test_run_arguments), cmocka_unit_test(test_concurrent_runs),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  clear_dir();
  rmdir(dir);
  return rc;
}

/*
 * GEMM, convolution and depthwise kernels with a leading symbolic
 * dimension (issue 15; codegen/cpu/cg_gemm.c, cg_conv.c, cg_dwconv.c):
 * each model below is compiled once, symbolic, with the JIT, and run
 * through kiln_NAME_run_shaped at several bindings (1, 2, the bound, and
 * values that are not a multiple of the GEMM's row panel), with and without
 * the pass pipeline (fused epilogues, weights packed by the layout pass).
 * Each run is compared with the reference interpreter on the static copy
 * of the model at that binding (ir_module_bind).
 *
 * Inputs and weights are multiples of 1/8 in [-1, 1] and every product sums
 * at most a few hundred terms, so every result is exact in f32 whatever
 * the order of the sums: outputs must equal the interpreter's bit for bit.
 * Each input ends right before an inaccessible page, so a read past its
 * actual extent faults (the generated code is not instrumented by ASan);
 * outputs are allocated at their bound, pre-filled with a pattern that
 * must survive past the actual extent (no write there).
 *
 * Usage: test_cg_symbolic [--cpu NAME]: code for that LLVM CPU instead of
 * this machine's (x86-64-v2: the 4-wide kernels and their 4x8 GEMM tile);
 * exits 77 (skipped), saying why, where this machine cannot run it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api.h"
#include "codegen/cg.h"
#include "include/kiln/artifact.h"
#include "ir/eval.h"
#include "ir/symbolic.h"
#include "tests/common/cpu_level.h"

/* --cpu NAME, or NULL: this machine's. */
static const char *target_cpu;

typedef int (*run_shaped_fn)(const void *const *inputs, const int64_t *const *input_dims, void *const *outputs,
                             int64_t *const *output_dims, void *workspace);

/* Collects error messages (for the refusals) and remarks (which kernel
 * each product got). */
typedef struct sink {
  diag d;
  char text[2048];
  char remarks[8192];
} sink;

static void sink_fn(void *user, diag_level level, const char *msg) {
  sink *s = user;
  char *to = level == DIAG_ERROR ? s->text : level == DIAG_REMARK ? s->remarks : NULL;
  size_t cap = level == DIAG_ERROR ? sizeof s->text : sizeof s->remarks;
  if (!to) return;
  size_t n = strlen(to);
  snprintf(to + n, cap - n, "%s\n", msg);
}

/* How often `what` occurs in s. */
static int count(const char *s, const char *what) {
  int n = 0;
  for (const char *p = strstr(s, what); p; p = strstr(p + 1, what)) n++;
  return n;
}

static void sink_init(sink *s) {
  memset(s, 0, sizeof *s);
  s->d.fn = sink_fn;
  s->d.user = s;
}

/* Multiples of 1/8 in [-1, 1], from a fixed sequence. */
static float value(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return (float)((int)((*state >> 16) % 17) - 8) / 8.0f;
}

/* `bytes` bytes that end where an inaccessible page begins; free with
 * guarded_free(p, bytes). */
typedef struct guarded {
  unsigned char *base, *p;
  size_t total;
} guarded;

static guarded guarded_alloc(size_t bytes) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE), body = (bytes + page - 1) / page * page;
  guarded g = {aligned_alloc(page, body + page), NULL, body + page};
  assert_non_null(g.base);
  assert_int_equal(mprotect(g.base + body, page, PROT_NONE), 0);
  g.p = g.base + body - bytes;
  return g;
}

static void guarded_free(guarded *g) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  assert_int_equal(mprotect(g->base + g->total - page, page, PROT_READ | PROT_WRITE), 0);
  free(g->base);
}

/* The shape of entry parameter p and of output o. */
static const ir_shape *param_shape(const ir_module *m, int p) {
  const ir_comp *e = ir_module_entry(m);
  for (uint32_t i = 0; i < e->ninsts; i++)
    if (e->insts[i].op == IR_OP_PARAMETER && e->insts[i].index == p) return &e->insts[i].shape;
  return NULL;
}

static const ir_shape *output_shape(const ir_module *m, int o) {
  const ir_comp *e = ir_module_entry(m);
  return &e->insts[e->root].tuple[o];
}

static size_t shape_bytes(const ir_shape *s) {
  size_t n = ir_type_size(s->type);
  for (int i = 0; i < s->rank; i++) n *= (size_t)s->dims[i];
  return n;
}

/* A model compiled symbolic (jit): its run_shaped and workspace. */
typedef struct compiled {
  cg_jit *jit;
  run_shaped_fn run_shaped;
  void (*set_threads)(int);
  size_t workspace;
} compiled;

static bool compile_jit(const ir_module *m, compiled *out, sink *s) {
  memset(out, 0, sizeof *out);
  cg_options o = {"t", NULL, target_cpu, target_cpu ? "" : NULL, 3, NULL, true, true, false, NULL, NULL};
  cg_output *cg = cg_lower(m, &o, &s->d);
  if (!cg) return false;
  bool ok = cg_optimize(cg, &s->d);
  out->workspace = cg_output_workspace_size(cg);
  if (ok) out->jit = cg_jit_create(cg, false, &s->d);
  cg_output_destroy(cg);
  if (!out->jit) return false;
  /* Object to function pointers by copy (ISO C has no cast between them). */
  void *run = cg_jit_lookup(out->jit, "kiln_t_run_shaped"), *threads = cg_jit_lookup(out->jit, "kiln_t_set_num_threads");
  if (!run || !threads) return false;
  memcpy(&out->run_shaped, &run, sizeof run);
  memcpy(&out->set_threads, &threads, sizeof threads);
  return true;
}

/* Runs the compiled model at `bind` (a value per symbol of ref) with
 * `threads` threads (0: the default) and compares it with the interpreter
 * on the bound copy of `ref`. */
static void check_binding(const char *name, const ir_module *ref, const compiled *cm, const int64_t *bind, bool passes) {
  char bt[128] = ""; /* the binding as text, for messages */
  for (int k = 0, n = 0; k < ir_sym_count(ref) && n < (int)sizeof bt; k++)
    n += snprintf(bt + n, sizeof bt - (size_t)n, "%s%s=%lld", k ? " " : "", ir_sym_name(ref, k), (long long)bind[k]);
  int nin = 0, nout = (int)ir_module_entry(ref)->insts[ir_module_entry(ref)->root].ntuple;
  while (param_shape(ref, nin)) nin++;
  sink s;
  sink_init(&s);
  ir_module *bound = ir_module_bind(ref, bind, &s.d);
  if (!bound) fail_msg("%s: binding %s: %s", name, bt, s.text);
  void *ins[8] = {0}, *outs[8] = {0}, *outs1[8] = {0}, *want[8] = {0};
  guarded gin[8];
  int64_t in_dims[8][IR_MAX_RANK], out_dims[8][IR_MAX_RANK];
  const int64_t *in_dp[8];
  int64_t *out_dp[8];
  size_t out_actual[8], out_bound[8];
  assert_true(nin <= 8 && nout <= 8);
  uint32_t state = (uint32_t)(bind[0] * 7919 + 17);
  for (int p = 0; p < nin; p++) {
    const ir_shape *a = param_shape(bound, p);
    size_t n = shape_bytes(a) / sizeof(float);
    gin[p] = guarded_alloc(n * sizeof(float));
    ins[p] = gin[p].p;
    for (size_t i = 0; i < n; i++) ((float *)ins[p])[i] = value(&state);
    for (int d = 0; d < a->rank; d++) in_dims[p][d] = a->dims[d];
    in_dp[p] = in_dims[p];
  }
  for (int o = 0; o < nout; o++) {
    out_actual[o] = shape_bytes(output_shape(bound, o));
    out_bound[o] = shape_bytes(output_shape(ref, o));
    outs[o] = malloc(out_bound[o] + 1);
    outs1[o] = malloc(out_bound[o] + 1);
    want[o] = malloc(out_actual[o] + 1);
    assert_true(outs[o] && outs1[o] && want[o]);
    memset(outs[o], 0xA5, out_bound[o]);
    memset(outs1[o], 0xA5, out_bound[o]);
    for (int d = 0; d < IR_MAX_RANK; d++) out_dims[o][d] = -1;
    out_dp[o] = out_dims[o];
  }
  ir_eval_opts eo = {NULL, NULL};
  if (!ir_eval_module(bound, &eo, (const void *const *)ins, want, &s.d))
    fail_msg("%s: the interpreter failed at %s: %s", name, bt, s.text);
  void *ws = cm->workspace ? aligned_alloc(64, (cm->workspace + 63) / 64 * 64) : NULL;
  cm->set_threads(1);
  int rc1 = cm->run_shaped((const void *const *)ins, in_dp, outs1, NULL, ws);
  cm->set_threads(0);
  int rc = cm->run_shaped((const void *const *)ins, in_dp, outs, out_dp, ws);
  free(ws);
  if (rc != KILN_ARTIFACT_OK || rc1 != KILN_ARTIFACT_OK)
    fail_msg("%s%s: run_shaped at %s returned %d / %d", name, passes ? " (passes)" : "", bt, rc, rc1);
  for (int o = 0; o < nout; o++) {
    const ir_shape *a = output_shape(bound, o);
    for (int d = 0; d < a->rank; d++)
      if (out_dims[o][d] != a->dims[d])
        fail_msg("%s: output %d dimension %d is %lld at %s, want %lld", name, o, d, (long long)out_dims[o][d],
                 bt, (long long)a->dims[d]);
    const float *got = outs[o], *w = want[o];
    for (size_t i = 0; i < out_actual[o] / sizeof(float); i++)
      if (memcmp(&got[i], &w[i], sizeof(float)) != 0)
        fail_msg("%s%s: binding %s: output %d element %zu is %.9g, the interpreter says %.9g", name,
                 passes ? " (passes)" : "", bt, o, i, (double)got[i], (double)w[i]);
    if (memcmp(outs[o], outs1[o], out_bound[o]) != 0)
      fail_msg("%s: binding %s: output %d differs between 1 thread and the default", name, bt, o);
    for (size_t i = out_actual[o]; i < out_bound[o]; i++)
      if (((const unsigned char *)outs[o])[i] != 0xA5)
        fail_msg("%s%s: binding %s: output %d byte %zu, past the actual extent (%zu bytes), was written", name,
                 passes ? " (passes)" : "", bt, o, i, out_actual[o]);
  }
  for (int p = 0; p < nin; p++) guarded_free(&gin[p]);
  for (int o = 0; o < nout; o++) free(outs[o]), free(outs1[o]), free(want[o]);
  ir_module_destroy(bound);
}

/* Compiles `text` (nsyms symbols) with and without the pass pipeline and
 * checks it at each binding: binds[i·nsyms ..] the symbols' values. Each
 * compile must make `gemms` GEMM kernels with a symbolic dimension (their
 * remarks say "at run time"), and say `expect` (NULL: nothing) in a
 * remark: the test runs the paths it means to. */
static void check_model_n(const char *name, const char *text, const int64_t *binds, int nbinds, int nsyms, int gemms,
                          const char *expect) {
  for (int passes = 0; passes < 2; passes++) {
    kiln_context *ctx;
    assert_int_equal(kiln_context_create(&ctx), KILN_OK);
    /* the passes see the target too (the weights' panels) */
    if (target_cpu) assert_int_equal(kiln_context_set_target(ctx, NULL, target_cpu, NULL), KILN_OK);
    kiln_model *m = NULL, *ref = NULL;
    if (kiln_model_from_kir(ctx, text, strlen(text), name, &m) != KILN_OK ||
        kiln_model_from_kir(ctx, text, strlen(text), name, &ref) != KILN_OK)
      fail_msg("%s: %s", name, kiln_context_last_error(ctx));
    if (passes && kiln_model_optimize(m, NULL, NULL) != KILN_OK) fail_msg("%s: %s", name, kiln_context_last_error(ctx));
    assert_true(ir_module_is_symbolic(m->m));
    sink s;
    sink_init(&s);
    compiled cm;
    if (!compile_jit(m->m, &cm, &s)) fail_msg("%s%s: compilation failed: %s", name, passes ? " (passes)" : "", s.text);
    if (count(s.remarks, " at run time") != gemms || (expect && !strstr(s.remarks, expect)))
      fail_msg("%s%s: want %d symbolic GEMM kernels%s%s, the remarks say:\n%s", name, passes ? " (passes)" : "", gemms,
               expect ? " and " : "", expect ? expect : "", s.remarks);
    for (int i = 0; i < nbinds; i++) check_binding(name, ref->m, &cm, binds + i * nsyms, passes);
    cg_jit_destroy(cm.jit);
    kiln_model_destroy(m);
    kiln_model_destroy(ref);
    kiln_context_destroy(ctx);
  }
}

/* The same for a model of one symbol: binds[i] its values. */
static void check_model(const char *name, const char *text, const int64_t *binds, int nbinds, int gemms,
                        const char *expect) {
  check_model_n(name, text, binds, nbinds, 1, gemms, expect);
}

/* Writes a constant literal of n values (row-major over dims) into buf. */
static void literal(char *buf, size_t cap, int rank, const int64_t *dims, uint32_t seed) {
  size_t k = 0;
  int64_t idx[IR_MAX_RANK] = {0};
  int64_t n = 1;
  for (int i = 0; i < rank; i++) n *= dims[i];
  for (int64_t e = 0; e < n; e++) {
    int open = 0;
    for (int i = rank - 1; i >= 0 && idx[i] == 0; i--) open++;
    for (int i = 0; i < open; i++) k += (size_t)snprintf(buf + k, cap - k, "{");
    k += (size_t)snprintf(buf + k, cap - k, "%g", (double)value(&seed));
    int close = 0;
    for (int i = rank - 1; i >= 0; i--) {
      if (++idx[i] < dims[i]) break;
      idx[i] = 0;
      close++;
    }
    for (int i = 0; i < close; i++) k += (size_t)snprintf(buf + k, cap - k, "}");
    if (e + 1 < n) k += (size_t)snprintf(buf + k, cap - k, ", ");
    assert_true(k < cap);
  }
}

/* ---- dot with symbolic M (the rows of lhs and the result) ---------------- */

/* Bindings for a bound of 16 with AVX2's 6-row panels (AVX-512: 14): one
 * row, two, a full panel, one past it, a cut last panel, the bound. */
static const int64_t binds16[] = {1, 2, 5, 6, 7, 13, 14, 15, 16};

static void dot_m_rhs_in_place(void **state) {
  (void)state;
  /* rhs [K,N] row-major: read in place; N = 40: full and cut column panels */
  check_model("dot_m", "module dot_m\nsymbol b <= 16\n\nENTRY %main outputs={\"y\"} {\n"
              "  %x = f32[b,64] parameter(0)\n  %w = f32[64,40] parameter(1)\n"
              "  %y = f32[b,40] dot(%x, %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}\n"
              "  ROOT %t = (f32[b,40]) tuple(%y)\n}\n",
              binds16, (int)(sizeof binds16 / sizeof *binds16), 1, "M from b at run time");
}

static void dot_m_rhs_packed(void **state) {
  (void)state;
  /* rhs [N,K]: packed panel by panel inside the tile phase (rows loop to M) */
  check_model("dot_m_packed", "module dot_m_packed\nsymbol b <= 16\n\nENTRY %main outputs={\"y\"} {\n"
              "  %x = f32[b,48] parameter(0)\n  %w = f32[40,48] parameter(1)\n"
              "  %y = f32[b,40] dot(%x, %w), lhs_contracting_dims={1}, rhs_contracting_dims={1}\n"
              "  ROOT %t = (f32[b,40]) tuple(%y)\n}\n",
              binds16, (int)(sizeof binds16 / sizeof *binds16), 1, "M from b at run time");
}

static void dot_m_rows_of_two_dims(void **state) {
  (void)state;
  /* lhs [b,3,64]: M = 3·b; the result keeps b outermost; bias + relu */
  static const int64_t binds[] = {1, 2, 3, 4, 5, 9, 10};
  check_model("dot_m3", "module dot_m3\nsymbol b <= 10\n\nENTRY %main outputs={\"y\"} {\n"
              "  %x = f32[b,3,64] parameter(0)\n  %w = f32[64,24] parameter(1)\n  %bias = f32[24] parameter(2)\n"
              "  %d = f32[b,3,24] dot(%x, %w), lhs_contracting_dims={2}, rhs_contracting_dims={0}\n"
              "  %bb = f32[b,3,24] broadcast(%bias), dimensions={2}\n"
              "  %s = f32[b,3,24] add(%d, %bb)\n  %z = f32[] constant(0)\n"
              "  %zb = f32[b,3,24] broadcast(%z), dimensions={}\n  %y = f32[b,3,24] max(%s, %zb)\n"
              "  ROOT %t = (f32[b,3,24]) tuple(%y)\n}\n",
              binds, (int)(sizeof binds / sizeof *binds), 1, "M from b at run time");
}

static void dot_m_narrow(void **state) {
  (void)state;
  /* N = 6: one cut column panel (masked lanes) under the run-time rows;
   * K = 200 (the k loop's unrolled part and its rest) */
  static const int64_t binds[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 40};
  check_model("dot_swap", "module dot_swap\nsymbol b <= 40\n\nENTRY %main outputs={\"y\"} {\n"
              "  %x = f32[b,200] parameter(0)\n  %w = f32[200,6] parameter(1)\n"
              "  %y = f32[b,6] dot(%x, %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}\n"
              "  ROOT %t = (f32[b,6]) tuple(%y)\n}\n",
              binds, (int)(sizeof binds / sizeof *binds), 1, "M from b at run time");
}

static void dot_m_constant_weights(void **state) {
  (void)state;
  /* Constant rhs: with the pass pipeline the layout pass stores it packed */
  static char text[64 * 1024];
  static char lit[48 * 1024];
  const int64_t dims[2] = {96, 40};
  literal(lit, sizeof lit, 2, dims, 99);
  snprintf(text, sizeof text,
           "module dot_const\nsymbol b <= 16\n\nENTRY %%main outputs={\"y\"} {\n"
           "  %%x = f32[b,96] parameter(0)\n  %%w = f32[96,40] constant(%s)\n"
           "  %%y = f32[b,40] dot(%%x, %%w), lhs_contracting_dims={1}, rhs_contracting_dims={0}\n"
           "  ROOT %%t = (f32[b,40]) tuple(%%y)\n}\n",
           lit);
  check_model("dot_const", text, binds16, (int)(sizeof binds16 / sizeof *binds16), 1, "M from b at run time");
}

static void dot_tokens(void **state) {
  (void)state;
  /* A transformer's rows: M = b·s of two symbols, a reshape before, a
   * bias after (fused with the passes). */
  static const int64_t binds[] = {1, 1, 1, 5, 2, 3, 3, 7, 4, 4, 4, 7};
  check_model_n("dot_bs", "module dot_bs\nsymbol b <= 4\nsymbol s <= 7\n\nENTRY %main outputs={\"y\"} {\n"
                "  %x = f32[b,s,64] parameter(0)\n  %f = f32[b*s,64] reshape(%x)\n"
                "  %w = f32[64,40] parameter(1)\n  %bias = f32[40] parameter(2)\n"
                "  %d = f32[b*s,40] dot(%f, %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}\n"
                "  %bb = f32[b*s,40] broadcast(%bias), dimensions={1}\n  %y = f32[b*s,40] add(%d, %bb)\n"
                "  ROOT %t = (f32[b*s,40]) tuple(%y)\n}\n",
                binds, 6, 2, 1, "M from b*s at run time");
}

static void dot_batch(void **state) {
  (void)state;
  /* batch dims {0, 1} of [b,2,...]: units scale with b */
  static const int64_t binds[] = {1, 2, 3, 4};
  check_model("dot_batch", "module dot_batch\nsymbol b <= 4\n\nENTRY %main outputs={\"y\"} {\n"
              "  %p = f32[b,2,40,70] parameter(0)\n  %q = f32[b,2,70,30] parameter(1)\n"
              "  %y = f32[b,2,40,30] dot(%p, %q), lhs_batch_dims={0,1}, rhs_batch_dims={0,1}, "
              "lhs_contracting_dims={3}, rhs_contracting_dims={2}\n"
              "  ROOT %t = (f32[b,2,40,30]) tuple(%y)\n}\n",
              binds, (int)(sizeof binds / sizeof *binds), 1, "batch from b at run time");
}

/* ---- convolutions with a symbolic batch ----------------------------------- */

static const int64_t binds4[] = {1, 2, 3, 4};

static void conv_gemm(void **state) {
  (void)state;
  /* The GEMM path: a "same" 3x3 (vector im2col), a strided 5x5, a grouped
   * 3x3 and a 1x1 (B read in place), bias and relu after the first. */
  check_model("conv_gemm", "module conv_gemm\nsymbol b <= 4\n\n"
              "ENTRY %main outputs={\"same\", \"strided\", \"grouped\", \"pointwise\"} {\n"
              "  %x = f32[b,16,10,10] parameter(0)\n  %w1 = f32[32,16,3,3] parameter(1)\n"
              "  %w2 = f32[8,16,5,5] parameter(2)\n  %w3 = f32[16,8,3,3] parameter(3)\n"
              "  %w4 = f32[24,16,1,1] parameter(4)\n  %bias = f32[32] parameter(5)\n"
              "  %c1 = f32[b,32,10,10] convolution(%x, %w1), window={size=3x3 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01\n"
              "  %bb = f32[b,32,10,10] broadcast(%bias), dimensions={1}\n"
              "  %s1 = f32[b,32,10,10] add(%c1, %bb)\n  %z = f32[] constant(0)\n"
              "  %zb = f32[b,32,10,10] broadcast(%z), dimensions={}\n  %same = f32[b,32,10,10] max(%s1, %zb)\n"
              "  %strided = f32[b,8,5,5] convolution(%x, %w2), window={size=5x5 stride=2x2 pad=2_2x2_2}, "
              "dim_labels=bf01_oi01->bf01\n"
              "  %grouped = f32[b,16,10,10] convolution(%x, %w3), window={size=3x3 pad=1_1x1_1}, "
              "dim_labels=bf01_oi01->bf01, feature_group_count=2\n"
              "  %pointwise = f32[b,24,10,10] convolution(%x, %w4), window={size=1x1}, dim_labels=bf01_oi01->bf01\n"
              "  ROOT %t = (f32[b,32,10,10], f32[b,8,5,5], f32[b,16,10,10], f32[b,24,10,10]) "
              "tuple(%same, %strided, %grouped, %pointwise)\n}\n",
              binds4, 4, 4, "batch from b at run time");
}

static void conv_gemm_tiles(void **state) {
  (void)state;
  /* The transposed tile (K = 360 >= 256, N = 25: vectors along M), and the
   * im2col that loads input row spans (stride 2, 16 output columns). */
  check_model("conv_tiles", "module conv_tiles\nsymbol b <= 4\n\n"
              "ENTRY %main outputs={\"swapped\", \"rowvec\"} {\n"
              "  %x = f32[b,40,5,5] parameter(0)\n  %w = f32[60,40,3,3] parameter(1)\n"
              "  %swapped = f32[b,60,5,5] convolution(%x, %w), window={size=3x3 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01\n"
              "  %xr = f32[b,8,16,32] parameter(2)\n  %wr = f32[16,8,3,3] parameter(3)\n"
              "  %rowvec = f32[b,16,8,16] convolution(%xr, %wr), window={size=3x3 stride=2x2 pad=1_1x1_1}, "
              "dim_labels=bf01_oi01->bf01\n"
              "  ROOT %t = (f32[b,60,5,5], f32[b,16,8,16]) tuple(%swapped, %rowvec)\n}\n",
              binds4, 4, 2, "transposed tile");
}

static void conv_rows_and_depthwise(void **state) {
  (void)state;
  /* Too small for the GEMM (the row kernel), and depthwise convolutions in
   * both of the depthwise kernel's forms (planes narrower than a vector,
   * rows at least one wide), one with a fused relu. */
  check_model("conv_small", "module conv_small\nsymbol b <= 4\n\n"
              "ENTRY %main outputs={\"rows\", \"dw_flat\", \"dw_rows\"} {\n"
              "  %x = f32[b,2,5,5] parameter(0)\n  %w = f32[3,2,3,3] parameter(1)\n"
              "  %rows = f32[b,3,5,5] convolution(%x, %w), window={size=3x3 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01\n"
              "  %xd = f32[b,16,6,6] parameter(2)\n  %wd = f32[16,1,3,3] parameter(3)\n"
              "  %dw_flat = f32[b,16,6,6] convolution(%xd, %wd), window={size=3x3 pad=1_1x1_1}, "
              "dim_labels=bf01_oi01->bf01, feature_group_count=16\n"
              "  %xr = f32[b,8,12,20] parameter(4)\n  %wr = f32[8,1,3,3] parameter(5)\n"
              "  %cr = f32[b,8,6,10] convolution(%xr, %wr), window={size=3x3 stride=2x2 pad=1_1x1_1}, "
              "dim_labels=bf01_oi01->bf01, feature_group_count=8\n"
              "  %z = f32[] constant(0)\n  %zb = f32[b,8,6,10] broadcast(%z), dimensions={}\n"
              "  %dw_rows = f32[b,8,6,10] max(%cr, %zb)\n"
              "  ROOT %t = (f32[b,3,5,5], f32[b,16,6,6], f32[b,8,6,10]) tuple(%rows, %dw_flat, %dw_rows)\n}\n",
              binds4, 4, 0, NULL);
}

/* ---- what the kernels decline or refuse ---------------------------------- */

/* What the GEMM and convolution kernels do not take is either run by
 * another kernel, correctly, or refused when compiling with a message
 * naming the instruction: never compiled at the bound. */
static void declined(const char *name, const char *text, const int64_t *binds, int nbinds, bool must_refuse) {
  kiln_context *ctx;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  kiln_model *m = NULL;
  if (kiln_model_from_kir(ctx, text, strlen(text), name, &m) != KILN_OK)
    fail_msg("%s: %s", name, kiln_context_last_error(ctx));
  sink s;
  sink_init(&s);
  compiled cm;
  if (compile_jit(m->m, &cm, &s)) {
    if (must_refuse) fail_msg("%s: compiled, but must be refused", name);
    for (int i = 0; i < nbinds; i++) check_binding(name, m->m, &cm, &binds[i], false);
    cg_jit_destroy(cm.jit);
  } else if (!strstr(s.text, "%y")) {
    fail_msg("%s: the message does not name %%y: %s", name, s.text);
  }
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
}

static void declined_and_refused(void **state) {
  (void)state;
  static const int64_t binds[] = {1, 7, 33, 64};
  /* A symbolic K and a symbolic N: the GEMM declines them. */
  declined("dot_k", "module dot_k\nsymbol k <= 64\n\nENTRY %main outputs={\"y\"} {\n"
           "  %x = f32[32,k] parameter(0)\n  %w = f32[k,40] parameter(1)\n"
           "  %y = f32[32,40] dot(%x, %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}\n"
           "  ROOT %t = (f32[32,40]) tuple(%y)\n}\n",
           binds, 4, false);
  declined("dot_n", "module dot_n\nsymbol n <= 64\n\nENTRY %main outputs={\"y\"} {\n"
           "  %x = f32[32,48] parameter(0)\n  %w = f32[48,n] parameter(1)\n"
           "  %y = f32[32,n] dot(%x, %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}\n"
           "  ROOT %t = (f32[32,n]) tuple(%y)\n}\n",
           binds, 4, false);
  /* A symbolic image height: the GEMM, row-convolution and depthwise
   * kernels decline it; the loop kernel's window taps read it from the
   * binding. */
  static const int64_t heights[] = {1, 2, 7, 16};
  declined("conv_h", "module conv_h\nsymbol h <= 16\n\nENTRY %main outputs={\"y\"} {\n"
           "  %x = f32[2,16,h,8] parameter(0)\n  %w = f32[32,16,3,3] parameter(1)\n"
           "  %y = f32[2,32,h,8] convolution(%x, %w), window={size=3x3 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01\n"
           "  ROOT %t = (f32[2,32,h,8]) tuple(%y)\n}\n",
           heights, 4, false);
  declined("dw_h", "module dw_h\nsymbol h <= 16\n\nENTRY %main outputs={\"y\"} {\n"
           "  %x = f32[2,8,h,8] parameter(0)\n  %w = f32[8,1,3,3] parameter(1)\n"
           "  %y = f32[2,8,h,8] convolution(%x, %w), window={size=3x3 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01, "
           "feature_group_count=8\n"
           "  ROOT %t = (f32[2,8,h,8]) tuple(%y)\n}\n",
           heights, 4, false);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--cpu")) {
    char why[512];
    target_cpu = argv[2];
    if (tu_cpu_level_runs(target_cpu, why, sizeof why) != 1) {
      printf("SKIPPED: code generated for %s cannot run on this machine: %s\n", target_cpu, why);
      return 77;
    }
  } else if (argc != 1) {
    fprintf(stderr, "usage: %s [--cpu NAME]\n", argv[0]);
    return 2;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(dot_m_rhs_in_place),  cmocka_unit_test(dot_m_rhs_packed),
      cmocka_unit_test(dot_m_rows_of_two_dims), cmocka_unit_test(dot_m_narrow),
      cmocka_unit_test(dot_m_constant_weights), cmocka_unit_test(dot_tokens),
      cmocka_unit_test(dot_batch),
      cmocka_unit_test(conv_gemm),           cmocka_unit_test(conv_gemm_tiles),
      cmocka_unit_test(conv_rows_and_depthwise),
      cmocka_unit_test(declined_and_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

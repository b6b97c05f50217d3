/*
 * Instrumented executables (kiln.h, "instrumentation: profiles and
 * verification"): the kernel table of the JIT and of an AOT .so, the trace
 * hook's calls (kernel spans in launch order, work spans of the pool's
 * threads, each kernel's output buffers), bit-identical outputs with and
 * without instrumentation, and the test-only perturbation. Expected values
 * are computed here in plain C from the inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln/kiln.h"

enum { M = 64, K = 32, N = 48 };

/* After the default pipeline: %t is one GEMM kernel (dot + tanh), %s a
 * reduce over it. */
static const char model_kir[] =
    "module inst\n"
    "\n"
    "ENTRY %main outputs={\"y\", \"s\"} {\n"
    "  %x = f32[64,32] parameter(0), io_name=\"x\"\n"
    "  %w = f32[32,48] parameter(1), io_name=\"w\"\n"
    "  %d = f32[64,48] dot(%x, %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}, loc=MatMul:\"mm\"\n"
    "  %t = f32[64,48] tanh(%d), loc=Tanh:\"act\"\n"
    "  %s = f32[64] reduce(%t), dimensions={1}, combiner=add, loc=ReduceSum:\"rsum\"\n"
    "  ROOT %r = (f32[64,48], f32[64]) tuple(%t, %s)\n"
    "}\n";

/* One loop of 1M elements: enough work for the pool's threads. */
static const char big_kir[] =
    "module big\n"
    "\n"
    "ENTRY %main outputs={\"y\"} {\n"
    "  %x = f32[1024,1024] parameter(0)\n"
    "  %y = f32[1024,1024] exp(%x)\n"
    "  ROOT %t = (f32[1024,1024]) tuple(%y)\n"
    "}\n";

typedef struct fixture {
  float x[M * K], w[K * N];
  float y[M * N], s[M]; /* outputs of the run under test */
  double ty[M * N], ts[M]; /* tanh(x @ w) and its row sums, in double */
} fixture;

static void fill(fixture *f) {
  for (int i = 0; i < M * K; i++) f->x[i] = 0.03125f * (float)((i * 7) % 23 - 11);
  for (int i = 0; i < K * N; i++) f->w[i] = 0.015625f * (float)((i * 5) % 19 - 9);
  for (int i = 0; i < M; i++) {
    f->ts[i] = 0;
    for (int j = 0; j < N; j++) {
      double a = 0;
      for (int k = 0; k < K; k++) a += (double)f->x[i * K + k] * f->w[k * N + j];
      f->ty[i * N + j] = tanh(a);
      f->ts[i] += tanh(a);
    }
  }
}

static kiln_context *new_ctx(unsigned instrument, const char *perturb) {
  kiln_context *ctx = NULL;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  assert_int_equal(kiln_context_set_instrument(ctx, instrument), KILN_OK);
  assert_int_equal(kiln_context_set_debug_perturb(ctx, perturb), KILN_OK);
  return ctx;
}

/* The optimised model of text (caller destroys). */
static kiln_model *optimised(kiln_context *ctx, const char *text) {
  kiln_model *m = NULL;
  assert_int_equal(kiln_model_from_kir(ctx, text, strlen(text), NULL, &m), KILN_OK);
  assert_int_equal(kiln_model_optimize(m, NULL, NULL), KILN_OK);
  return m;
}

static kiln_executable *jit(kiln_context *ctx, const char *text) {
  kiln_model *m = optimised(ctx, text);
  kiln_executable *exe = NULL;
  kiln_status s = kiln_model_jit(m, &exe);
  if (s != KILN_OK) fail_msg("JIT: %s", kiln_context_last_error(ctx));
  kiln_model_destroy(m);
  return exe;
}

static void run(kiln_executable *exe, fixture *f) {
  const void *in[2] = {f->x, f->w};
  void *out[2] = {f->y, f->s};
  assert_int_equal(kiln_executable_run(exe, in, out, NULL), KILN_OK);
}

/* ---- what the hook saw ---- */

#define MAX_EVENTS 4096
typedef struct event {
  int kernel, thread;
  kiln_trace_phase phase;
} event;

typedef struct trace_log {
  const kiln_executable *exe;
  event ev[MAX_EVENTS];
  int n;
  /* Copies of each kernel's first output at KERNEL_END (f32 only). */
  float *copy[8];
  int64_t copy_len[8];
} trace_log;

static void hook(void *user, int kernel, kiln_trace_phase phase, int thread, void *const *buffers) {
  trace_log *l = user;
  /* Work spans come from the pool's threads too: claim a slot atomically. */
  int i = __atomic_fetch_add(&l->n, 1, __ATOMIC_RELAXED);
  if (i < MAX_EVENTS) l->ev[i] = (event){kernel, thread, phase};
  if (phase == KILN_TRACE_KERNEL_END && kernel < 8) {
    kiln_kernel_info ki;
    if (kiln_executable_kernel(l->exe, kernel, &ki) != KILN_OK || ki.num_outputs < 1 || !buffers || !buffers[0]) return;
    if (ki.outputs[0].dtype != KILN_F32) return;
    int64_t n = 1;
    for (int d = 0; d < ki.outputs[0].rank; d++) n *= ki.outputs[0].dims[d];
    free(l->copy[kernel]);
    l->copy[kernel] = malloc(sizeof(float) * (size_t)n);
    if (l->copy[kernel]) memcpy(l->copy[kernel], buffers[0], sizeof(float) * (size_t)n);
    l->copy_len[kernel] = n;
  }
}

static void log_free(trace_log *l) {
  for (int i = 0; i < 8; i++) free(l->copy[i]);
}

/* ---- tests ---- */

static void uninstrumented_has_no_table(void **state) {
  (void)state;
  kiln_context *ctx = new_ctx(0, NULL);
  kiln_executable *exe = jit(ctx, model_kir);
  assert_int_equal(kiln_executable_num_kernels(exe), 0);
  kiln_kernel_info ki;
  assert_int_equal(kiln_executable_kernel(exe, 0, &ki), KILN_ERR_INVALID_ARGUMENT);
  trace_log l = {0};
  assert_int_equal(kiln_executable_set_trace(exe, hook, &l), KILN_ERR_UNSUPPORTED);
  assert_non_null(strstr(kiln_context_last_error(ctx), "without instrumentation"));
  assert_int_equal(kiln_context_set_instrument(ctx, 0x80), KILN_ERR_INVALID_ARGUMENT);
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx);
}

/* The table of the model: t (GEMM with the tanh epilogue), then s. */
static void check_table(const kiln_executable *exe) {
  assert_int_equal(kiln_executable_num_kernels(exe), 2);
  kiln_kernel_info t, s, ki2;
  assert_int_equal(kiln_executable_kernel(exe, 0, &t), KILN_OK);
  assert_int_equal(kiln_executable_kernel(exe, 1, &s), KILN_OK);
  assert_int_equal(kiln_executable_kernel(exe, 2, &ki2), KILN_ERR_INVALID_ARGUMENT);
  assert_string_equal(t.name, "t");
  assert_string_equal(t.kind, "gemm");
  assert_string_equal(t.onnx_nodes, "mm,act");
  assert_string_equal(t.onnx_ops, "MatMul,Tanh");
  assert_string_equal(t.shape, "f32[64,48]{1,0}");
  /* 2 per multiply-add of the dot, 1 per tanh. */
  assert_true(t.flops == 2.0 * M * N * K + (double)M * N);
  assert_true(t.bytes == 4.0 * (M * K + K * N + M * N));
  assert_int_equal(t.num_outputs, 1);
  assert_string_equal(t.outputs[0].name, "t");
  assert_int_equal(t.outputs[0].dtype, KILN_F32);
  assert_int_equal(t.outputs[0].rank, 2);
  assert_int_equal(t.outputs[0].dims[0], M);
  assert_int_equal(t.outputs[0].dims[1], N);
  assert_int_equal(t.minor_to_major[0][0], 1);
  assert_int_equal(t.minor_to_major[0][1], 0);
  assert_string_equal(s.name, "s");
  assert_string_equal(s.kind, "reduce");
  assert_string_equal(s.onnx_nodes, "rsum");
  assert_string_equal(s.onnx_ops, "ReduceSum");
  assert_true(s.flops == (double)M * N);
  assert_true(s.bytes == 4.0 * (M * N + M));
  assert_int_equal(s.num_outputs, 1);
  assert_int_equal(s.outputs[0].rank, 1);
  assert_int_equal(s.outputs[0].dims[0], M);
}

static void jit_table_and_trace(void **state) {
  (void)state;
  static fixture f, plain;
  fill(&f);
  fill(&plain);
  kiln_context *ctx = new_ctx(KILN_INSTRUMENT_KERNELS, NULL);
  kiln_executable *exe = jit(ctx, model_kir);
  check_table(exe);

  trace_log *l = calloc(1, sizeof *l);
  assert_non_null(l);
  l->exe = exe;
  assert_int_equal(kiln_executable_set_trace(exe, hook, l), KILN_OK);
  run(exe, &f);
  /* Kernel spans, in launch order, on the run's thread. Work spans may
   * come between (this model's loops are small: none expected, but the
   * pool may report some). */
  int seen = 0;
  for (int i = 0; i < l->n; i++) {
    const event *e = &l->ev[i];
    if (e->phase != KILN_TRACE_KERNEL_BEGIN && e->phase != KILN_TRACE_KERNEL_END) continue;
    assert_int_equal(e->thread, 0);
    assert_int_equal(e->kernel, seen / 2);
    assert_int_equal(e->phase, seen % 2 ? KILN_TRACE_KERNEL_END : KILN_TRACE_KERNEL_BEGIN);
    seen++;
  }
  assert_int_equal(seen, 4);
  /* Each kernel's output at its end: t = tanh(x @ w), s its row sums (also
   * the model's output s). */
  assert_int_equal(l->copy_len[0], M * N);
  assert_int_equal(l->copy_len[1], M);
  for (int i = 0; i < M * N; i++) assert_true(fabs(l->copy[0][i] - f.ty[i]) < 1e-5);
  for (int i = 0; i < M; i++) {
    assert_true(fabs(l->copy[1][i] - f.ts[i]) < 1e-4);
    assert_memory_equal(&l->copy[1][i], &f.s[i], sizeof(float));
  }

  /* Removing the hook stops the calls; outputs equal an uninstrumented
   * build's bit for bit. */
  int before = l->n;
  assert_int_equal(kiln_executable_set_trace(exe, NULL, NULL), KILN_OK);
  run(exe, &f);
  assert_int_equal(l->n, before);
  kiln_context *pctx = new_ctx(0, NULL);
  kiln_executable *pexe = jit(pctx, model_kir);
  run(pexe, &plain);
  assert_memory_equal(f.y, plain.y, sizeof f.y);
  assert_memory_equal(f.s, plain.s, sizeof f.s);
  kiln_executable_destroy(pexe);
  kiln_context_destroy(pctx);
  log_free(l);
  free(l);
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx);
}

/* A big loop on two threads: work spans of thread 0 and of a worker,
 * between the kernel's begin and end, balanced per thread. */
static void jit_work_spans(void **state) {
  (void)state;
  kiln_context *ctx = new_ctx(KILN_INSTRUMENT_KERNELS, NULL);
  assert_int_equal(kiln_context_set_num_threads(ctx, 2), KILN_OK);
  kiln_executable *exe = jit(ctx, big_kir);
  assert_int_equal(kiln_executable_num_kernels(exe), 1);
  kiln_kernel_info ki;
  assert_int_equal(kiln_executable_kernel(exe, 0, &ki), KILN_OK);
  assert_string_equal(ki.kind, "loop");
  assert_true(ki.flops == 1024.0 * 1024.0);
  float *x = calloc(1024 * 1024, sizeof(float)), *y = malloc(1024 * 1024 * sizeof(float));
  assert_non_null(x);
  assert_non_null(y);
  trace_log *l = calloc(1, sizeof *l);
  assert_non_null(l);
  l->exe = exe;
  assert_int_equal(kiln_executable_set_trace(exe, hook, l), KILN_OK);
  const void *in[1] = {x};
  void *out[1] = {y};
  /* Whether the worker wakes in time is the scheduler's call: a few runs
   * make a share of thread 1 all but certain. */
  bool worker = false;
  for (int r = 0; r < 50 && !worker; r++) {
    l->n = 0;
    assert_int_equal(kiln_executable_run(exe, in, out, NULL), KILN_OK);
    assert_true(l->n >= 4);
    assert_true(l->n <= MAX_EVENTS);
    assert_int_equal(l->ev[0].phase, KILN_TRACE_KERNEL_BEGIN);
    assert_int_equal(l->ev[l->n - 1].phase, KILN_TRACE_KERNEL_END);
    int open[2] = {0, 0}, spans[2] = {0, 0};
    for (int i = 1; i < l->n - 1; i++) {
      const event *e = &l->ev[i];
      assert_int_equal(e->kernel, 0);
      assert_true(e->thread == 0 || e->thread == 1);
      if (e->phase == KILN_TRACE_WORK_BEGIN) {
        assert_int_equal(open[e->thread], 0);
        open[e->thread] = 1;
      } else {
        assert_int_equal(e->phase, KILN_TRACE_WORK_END);
        assert_int_equal(open[e->thread], 1);
        open[e->thread] = 0;
        spans[e->thread]++;
      }
    }
    assert_int_equal(open[0] + open[1], 0);
    assert_int_equal(spans[0], 1);
    worker = spans[1] == 1;
  }
  assert_true(worker);
  for (int i = 0; i < 1024 * 1024; i += 4099) assert_true(y[i] == 1.0f);
  log_free(l);
  free(l);
  free(x);
  free(y);
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx);
}

/* The same table from a .so made by kiln_model_compile, and a trace. */
static void aot_table(void **state) {
  (void)state;
  char dir[] = "/tmp/kiln-instrument-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char so[128];
  snprintf(so, sizeof so, "%s/inst.so", dir);
  kiln_context *ctx = new_ctx(KILN_INSTRUMENT_KERNELS, NULL);
  kiln_model *m = optimised(ctx, model_kir);
  if (kiln_model_compile(m, "inst", so, NULL) != KILN_OK) fail_msg("compile: %s", kiln_context_last_error(ctx));
  kiln_model_destroy(m);
  kiln_executable *exe = NULL;
  assert_int_equal(kiln_executable_open(ctx, so, &exe), KILN_OK);
  check_table(exe);
  static fixture f;
  fill(&f);
  trace_log *l = calloc(1, sizeof *l);
  assert_non_null(l);
  l->exe = exe;
  assert_int_equal(kiln_executable_set_trace(exe, hook, l), KILN_OK);
  run(exe, &f);
  assert_int_equal(l->copy_len[0], M * N);
  for (int i = 0; i < M * N; i++) assert_true(fabs(l->copy[0][i] - f.ty[i]) < 1e-5);
  log_free(l);
  free(l);
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx);
  unlink(so);
  rmdir(dir);
}

/* Perturbing t: y's first element is off by one, the rest of y equal;
 * s reads t, so s[0] moves by one too. Uninstrumented and instrumented. */
static void perturb(void **state) {
  (void)state;
  static fixture good, bad;
  fill(&good);
  fill(&bad);
  kiln_context *gctx = new_ctx(0, NULL);
  kiln_executable *gexe = jit(gctx, model_kir);
  run(gexe, &good);
  for (unsigned instr = 0; instr <= KILN_INSTRUMENT_KERNELS; instr += KILN_INSTRUMENT_KERNELS) {
    kiln_context *ctx = new_ctx(instr, "t");
    kiln_executable *exe = jit(ctx, model_kir);
    memset(bad.y, 0, sizeof bad.y);
    run(exe, &bad);
    assert_true(fabsf(bad.y[0] - good.y[0] - 1.0f) < 1e-6f);
    assert_memory_equal(bad.y + 1, good.y + 1, sizeof(float) * (M * N - 1));
    assert_true(fabsf(bad.s[0] - good.s[0] - 1.0f) < 1e-4f);
    assert_memory_equal(bad.s + 1, good.s + 1, sizeof(float) * (M - 1));
    kiln_executable_destroy(exe);
    kiln_context_destroy(ctx);
  }
  kiln_executable_destroy(gexe);
  kiln_context_destroy(gctx);
}

static void perturb_unknown_kernel(void **state) {
  (void)state;
  kiln_context *ctx = new_ctx(0, "nosuch.7");
  kiln_model *m = optimised(ctx, model_kir);
  kiln_executable *exe = NULL;
  assert_int_equal(kiln_model_jit(m, &exe), KILN_ERR_COMPILE);
  assert_null(exe);
  const char *e = kiln_context_last_error(ctx);
  assert_non_null(strstr(e, "no kernel named nosuch.7"));
  assert_non_null(strstr(e, "kernels: t, s"));
  /* x is an instruction but no kernel: refused the same way. */
  assert_int_equal(kiln_context_set_debug_perturb(ctx, "x"), KILN_OK);
  assert_int_equal(kiln_model_jit(m, &exe), KILN_ERR_COMPILE);
  assert_non_null(strstr(kiln_context_last_error(ctx), "no kernel named x"));
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(uninstrumented_has_no_table),
      cmocka_unit_test(jit_table_and_trace),
      cmocka_unit_test(jit_work_spans),
      cmocka_unit_test(aot_table),
      cmocka_unit_test(perturb),
      cmocka_unit_test(perturb_unknown_kernel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

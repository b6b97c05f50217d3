/*
 * The inline f32 math of codegen/cg_math.c (exp, log, tanh, logistic, erf)
 * against the C library: a compiled artifact computes each function on
 * ~1.45 million floats (a stride through every bit pattern, so all
 * exponents, signs, denormals, infinities and NaNs, plus dense sweeps of
 * the ranges models use), and every result is compared with libm's double
 * result rounded to float. The largest error in units in the last place
 * must stay within the bound the code generator documents (a few ulp);
 * NaN must give NaN and infinities must be exact.
 *
 * It also checks that the elementwise kernels contain no call to libm (the
 * point of the inline forms: loops over them vectorize).
 *
 * Usage: test_cg_math (prints the worst error and where it is).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln/kiln.h"

#define MAX_ULP 5.0 /* observed: exp 1.0, log 0.8, tanh 1.3, logistic 2.1, erf 3.7 */

enum { F_EXP, F_LOG, F_TANH, F_LOGISTIC, F_ERF, NF };
static const char *const names[NF] = {"exp", "log", "tanh", "logistic", "erf"};
static const char *const libm_calls[] = {"@expf", "@logf", "@tanhf", "@erff", "@llvm.exp.f32", "@llvm.log.f32"};

static double reference(int f, float x) {
  double d = x;
  switch (f) {
    case F_EXP: return exp(d);
    case F_LOG: return log(d);
    case F_TANH: return tanh(d);
    case F_LOGISTIC: return 1.0 / (1.0 + exp(-d));
    default: return erf(d);
  }
}

/* |got - want| in ulps of the float nearest to `want` (denormal ulp at
 * the bottom); infinite when one is NaN and the other is not, or an
 * infinity differs. */
static double ulp_error(float got, double want) {
  float wf = (float)want;
  if (isnan(wf) || isnan(got)) return isnan(wf) && isnan(got) ? 0 : INFINITY;
  if (isinf(wf) || isinf(got)) return wf == got ? 0 : INFINITY;
  int e;
  frexp(wf == 0 ? 1e-45 : (double)wf, &e);
  double ulp = ldexp(1.0, e - 24);
  if (ulp < 0x1p-149) ulp = 0x1p-149;
  return fabs((double)got - want) / ulp;
}

static void diag_print(void *user, kiln_diag_level level, const char *msg) {
  (void)user;
  if (level == KILN_DIAG_ERROR) fprintf(stderr, "kiln: %s\n", msg);
}

int main(void) {
  /* Inputs. */
  size_t cap = 1800000, n = 0;
  float *x = malloc(cap * sizeof *x);
  if (!x) return 1;
  for (uint64_t bits = 0; bits < 0x100000000ull; bits += 4099) {
    uint32_t b32 = (uint32_t)bits;
    memcpy(&x[n++], &b32, 4);
  }
  for (int i = 0; i < 200000; i++) x[n++] = -20.0f + 40.0f * (float)i / 200000.0f;
  for (int i = 0; i < 100000; i++) x[n++] = -110.0f + 220.0f * (float)i / 100000.0f;
  for (int i = 0; i < 100000; i++) x[n++] = ldexpf((float)i / 100000.0f, -20);
  static const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.55f, -0.55f, 3.92f, -3.92f, 88.72f, 88.73f, -87.3f,
                                  -103.9f, -104.5f, 1e-45f, 1.17549435e-38f, 3.4028235e38f, INFINITY, -INFINITY, NAN};
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) x[n++] = special[i];

  char dir[] = "/tmp/kiln_math_XXXXXX", kir[256], so[256];
  if (!mkdtemp(dir)) return 1;
  snprintf(kir, sizeof kir, "%s/math.kir", dir);
  snprintf(so, sizeof so, "%s/math.so", dir);
  FILE *f = fopen(kir, "w");
  if (!f) return 1;
  fprintf(f, "module math\n\nENTRY %%main outputs={\"exp\", \"log\", \"tanh\", \"logistic\", \"erf\"} {\n");
  fprintf(f, "  %%x = f32[%zu] parameter(0)\n", n);
  for (int k = 0; k < NF; k++) fprintf(f, "  %%%s = f32[%zu] %s(%%x)\n", names[k], n, names[k]);
  fprintf(f, "  ROOT %%t = (f32[%zu], f32[%zu], f32[%zu], f32[%zu], f32[%zu]) tuple(%%exp, %%log, %%tanh, %%logistic, %%erf)\n}\n",
          n, n, n, n, n);
  fclose(f);

  kiln_context *ctx;
  if (kiln_context_create(&ctx) != KILN_OK) return 1;
  kiln_context_set_diagnostics(ctx, diag_print, NULL);
  kiln_model *m = NULL;
  kiln_executable *exe = NULL;
  char *llvm = NULL;
  size_t llen = 0;
  int failures = 0;
  if (kiln_model_load_file(ctx, kir, &m) != KILN_OK || kiln_model_emit(m, "math", KILN_EMIT_LLVM, &llvm, &llen) != KILN_OK ||
      kiln_model_compile(m, "math", so, NULL) != KILN_OK || kiln_executable_open(ctx, so, &exe) != KILN_OK) {
    fprintf(stderr, "FAIL: could not compile the math kernels\n");
    return 1;
  }
  for (size_t i = 0; i < sizeof libm_calls / sizeof libm_calls[0]; i++)
    if (strstr(llvm, libm_calls[i])) {
      fprintf(stderr, "FAIL: the optimised LLVM IR still calls %s\n", libm_calls[i]);
      failures++;
    }
  kiln_free(llvm);
  float *out[NF];
  for (int k = 0; k < NF; k++) out[k] = malloc(n * sizeof(float));
  const void *ins[1] = {x};
  void *outs[NF] = {out[0], out[1], out[2], out[3], out[4]};
  if (kiln_executable_run(exe, ins, outs, NULL) != KILN_OK) {
    fprintf(stderr, "FAIL: the run failed\n");
    return 1;
  }
  for (int k = 0; k < NF; k++) {
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
      double e = ulp_error(out[k][i], reference(k, x[i]));
      if (e > worst || isnan(e)) {
        worst = e;
        at = i;
      }
    }
    bool ok = worst <= MAX_ULP;
    printf("%s %-8s max error %.2f ulp (x = %.9g: got %.9g, libm %.9g) over %zu inputs\n", ok ? "ok  " : "FAIL", names[k],
           worst, (double)x[at], (double)out[k][at], reference(k, x[at]), n);
    if (!ok) failures++;
    free(out[k]);
  }
  kiln_executable_destroy(exe);
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
  unlink(so);
  unlink(kir);
  rmdir(dir);
  free(x);
  return failures ? 1 : 0;
}

/* Output comparison for the interpreter tests (see npy_check.h). */
#include "tests/ir/npy_check.h"

#include <math.h>
#include <stdio.h>

#include "ir/literal.h"

bool npy_check_type(kiln_dtype d, ir_type *t) {
  static const ir_type map[] = {IR_PRED, IR_I8,  IR_I16, IR_I32,  IR_I64, IR_U8, IR_U16,
                                IR_U32,  IR_U64, IR_F16, IR_BF16, IR_F32, IR_F64};
  if ((unsigned)d >= sizeof map / sizeof map[0]) return false;
  *t = map[d];
  return true;
}

static void tolerance(ir_type t, double *rtol, double *atol) {
  switch (t) {
    case IR_F64: *rtol = 1e-12, *atol = 1e-14; break;
    case IR_F32: *rtol = 1e-6, *atol = 1e-7; break;
    default: *rtol = 1e-3, *atol = 1e-4; break; /* f16, bf16 */
  }
}

int npy_check_compare(const char *label, int out, ir_type t, const void *got, const void *want, int64_t n) {
  return npy_check_compare_tol(label, NULL, out, t, got, want, n, -1, -1);
}

/* Element i as text, for a mismatch message. */
static void elem_str(ir_type t, const void *data, int64_t i, char *buf, size_t n) {
  if (ir_type_is_float(t)) snprintf(buf, n, "%.17g", ir_elem_get_f(t, data, i));
  else if (t == IR_PRED) snprintf(buf, n, "%u", (unsigned)((const uint8_t *)data)[i]);
  else if (ir_type_is_unsigned(t)) snprintf(buf, n, "%llu", (unsigned long long)ir_elem_get_u(t, data, i));
  else snprintf(buf, n, "%lld", (long long)ir_elem_get_i(t, data, i));
}

int npy_check_compare_tol(const char *label, const char *what, int out, ir_type t, const void *got, const void *want,
                          int64_t n, double rtol, double atol) {
  if (rtol < 0) tolerance(t, &rtol, &atol);
  int bad = 0;
  for (int64_t i = 0; i < n; i++) {
    bool ok;
    if (ir_type_is_float(t)) {
      double a = ir_elem_get_f(t, got, i), b = ir_elem_get_f(t, want, i);
      if (isnan(b)) ok = isnan(a);
      else if (isinf(b)) ok = a == b;
      else ok = !isnan(a) && fabs(a - b) <= atol + rtol * fabs(b);
    } else if (t == IR_PRED) {
      ok = ((const uint8_t *)got)[i] == ((const uint8_t *)want)[i];
    } else {
      ok = ir_elem_get_u(t, got, i) == ir_elem_get_u(t, want, i);
    }
    if (!ok && bad++ < 5) {
      char g[64], w[64]; /* formatted only for the mismatches that are shown */
      elem_str(t, got, i, g, sizeof g);
      elem_str(t, want, i, w, sizeof w);
      fprintf(stderr, "  [%s] output %d element %lld: got %s, %s %s\n", label, out, (long long)i, g, what ? what : "want", w);
    }
  }
  if (bad)
    fprintf(stderr, "  [%s] output %d: %d of %lld elements differ%s%s\n", label, out, bad, (long long)n,
            what ? " from " : "", what ? what : "");
  return bad;
}

/*
 * Float functions. For f32 registers (which also carry f16 and bf16), exp,
 * log, tanh, logistic and erf are expanded inline into plain LLVM IR
 * (range reduction, polynomial or rational approximation, bit tricks for
 * the powers of two), with no calls and no branches, so the loops of
 * elementwise kernels vectorize; they are accurate to a few ulp over the
 * whole float range (tests/codegen/cg_math_test.c checks them against libm
 * on millions of inputs) and handle NaN, infinities, zeros and denormals
 * like libm. The coefficients were fitted for this file (minimax, in
 * double; codegen/cg_math_fit.py derives them).
 *
 * Everything else, and f64, uses LLVM intrinsics where LLVM has them with
 * libm semantics (exp, log, sin, cos, sqrt, pow) and otherwise calls the
 * backend lowers (cg_call_math: libm on CPU, so the artifact may depend on
 * libm.so.6; libdevice on a GPU); those
 * results are within an ulp or so of the interpreter's double-then-round.
 */
#include <math.h>
#include <string.h>

#include "codegen/cg_internal.h"

static LLVMValueRef intr1(cg_ctx *c, const char *name, LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x);
  return cg_intrinsic(c, name, &t, 1, &x, 1);
}

static LLVMValueRef libm1(cg_ctx *c, const char *dname, LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x);
  char name[32];
  size_t n = strlen(dname);
  memcpy(name, dname, n + 1);
  if (t == c->t_f32) memcpy(name + n, "f", 2);
  return cg_call_math(c, name, t, &x, 1);
}

/* ---- inline f32 functions -------------------------------------------------- */

static LLVMValueRef kf(cg_ctx *c, double v) { return LLVMConstReal(c->t_f32, v); }
static LLVMValueRef ki(cg_ctx *c, int32_t v) { return LLVMConstInt(c->t_i32, (unsigned long long)(int64_t)v, 1); }

/* a * b + d, fused where the target has an FMA. */
static LLVMValueRef fmad(cg_ctx *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef d) {
  LLVMValueRef args[3] = {a, b, d};
  return cg_intrinsic(c, "llvm.fmuladd", &c->t_f32, 1, args, 3);
}

/* k[0] + k[1] x + ... + k[n-1] x^(n-1), Horner. */
static LLVMValueRef horner(cg_ctx *c, LLVMValueRef x, const double *k, int n) {
  LLVMValueRef r = kf(c, k[n - 1]);
  for (int i = n - 2; i >= 0; i--) r = fmad(c, r, x, kf(c, k[i]));
  return r;
}

static LLVMValueRef fcmp(cg_ctx *c, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFCmp(c->b, p, a, b, "");
}

static LLVMValueRef sel(cg_ctx *c, LLVMValueRef cond, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(c->b, cond, a, b, "");
}

static LLVMValueRef as_f32(cg_ctx *c, LLVMValueRef i) { return LLVMBuildBitCast(c->b, i, c->t_f32, ""); }
static LLVMValueRef as_i32(cg_ctx *c, LLVMValueRef f) { return LLVMBuildBitCast(c->b, f, c->t_i32, ""); }

/* ln 2 split so that n * LN2_HI is exact for |n| < 2^15. */
#define LN2_HI 0.693359375
#define LN2_LO (-2.12194440054690583e-4)

/* exp(x): n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2],
 * e^r = 1 + r + r^2 P(r) (minimax, relative error 3.1e-9), times 2^n
 * built from exponent bits in two halves so that results in the
 * denormal range round gradually. x is clamped to [-104, 89] first (past
 * those the result is 0 or overflows to inf by itself); NaN stays NaN. */
static const double EXP_P[5] = {0.4999999345160122, 0.16666520688339181, 0.04166838737821987, 0.008368709995335392,
                                0.0013814612957132513};

static LLVMValueRef exp_f32(cg_ctx *c, LLVMValueRef x) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef nan = fcmp(c, LLVMRealUNO, x, x);
  LLVMValueRef xc = sel(c, nan, kf(c, 0), x);
  xc = sel(c, fcmp(c, LLVMRealOLT, xc, kf(c, -104.0)), kf(c, -104.0), xc);
  xc = sel(c, fcmp(c, LLVMRealOGT, xc, kf(c, 89.0)), kf(c, 89.0), xc);
  LLVMValueRef n = LLVMBuildFMul(b, xc, kf(c, 1.4426950408889634), "");
  n = intr1(c, "llvm.roundeven", n);
  LLVMValueRef r = fmad(c, n, kf(c, -LN2_HI), xc);
  r = fmad(c, n, kf(c, -LN2_LO), r);
  LLVMValueRef r2 = LLVMBuildFMul(b, r, r, "");
  LLVMValueRef p = fmad(c, r2, horner(c, r, EXP_P, 5), r);
  p = LLVMBuildFAdd(b, p, kf(c, 1.0), "");
  LLVMValueRef ni = LLVMBuildFPToSI(b, n, c->t_i32, "");
  LLVMValueRef n1 = LLVMBuildAShr(b, ni, ki(c, 1), "");
  LLVMValueRef n2 = LLVMBuildSub(b, ni, n1, "");
  LLVMValueRef s1 = as_f32(c, LLVMBuildShl(b, LLVMBuildAdd(b, n1, ki(c, 127), ""), ki(c, 23), ""));
  LLVMValueRef s2 = as_f32(c, LLVMBuildShl(b, LLVMBuildAdd(b, n2, ki(c, 127), ""), ki(c, 23), ""));
  LLVMValueRef res = LLVMBuildFMul(b, LLVMBuildFMul(b, p, s1, ""), s2, "");
  return sel(c, nan, x, res);
}

/* log(x): x = m 2^e with m in [sqrt(1/2), sqrt(2)) (denormals scaled by
 * 2^23 first), f = m - 1 (exact), s = f / (2 + f), and
 * log(1 + f) = f - (f^2/2 - s (f^2/2 + R(s^2))) with R the series of
 * 2 atanh(s) - 2 s (|s| < 0.172, four terms); plus e ln 2 in two parts.
 * log(0) = -inf, log(inf) = inf, log(x < 0) and log(NaN) = NaN. */
static LLVMValueRef log_f32(cg_ctx *c, LLVMValueRef x) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef tiny = fcmp(c, LLVMRealOLT, x, kf(c, 1.17549435082228751e-38));
  LLVMValueRef xs = sel(c, tiny, LLVMBuildFMul(b, x, kf(c, 8388608.0), ""), x);
  LLVMValueRef bits = as_i32(c, xs);
  LLVMValueRef e = LLVMBuildSub(b, LLVMBuildLShr(b, bits, ki(c, 23), ""), ki(c, 127), "");
  e = sel(c, tiny, LLVMBuildSub(b, e, ki(c, 23), ""), e);
  LLVMValueRef m = as_f32(c, LLVMBuildOr(b, LLVMBuildAnd(b, bits, ki(c, 0x007fffff), ""), ki(c, 0x3f800000), ""));
  LLVMValueRef big = fcmp(c, LLVMRealOGT, m, kf(c, 1.41421356237309505));
  m = sel(c, big, LLVMBuildFMul(b, m, kf(c, 0.5), ""), m);
  e = sel(c, big, LLVMBuildAdd(b, e, ki(c, 1), ""), e);
  LLVMValueRef f = LLVMBuildFSub(b, m, kf(c, 1.0), "");
  LLVMValueRef s = LLVMBuildFDiv(b, f, LLVMBuildFAdd(b, f, kf(c, 2.0), ""), "");
  LLVMValueRef z = LLVMBuildFMul(b, s, s, "");
  static const double LG[4] = {2.0 / 3.0, 2.0 / 5.0, 2.0 / 7.0, 2.0 / 9.0};
  LLVMValueRef R = LLVMBuildFMul(b, z, horner(c, z, LG, 4), "");
  LLVMValueRef hfsq = LLVMBuildFMul(b, LLVMBuildFMul(b, f, f, ""), kf(c, 0.5), "");
  LLVMValueRef lm = LLVMBuildFSub(b, f, LLVMBuildFSub(b, hfsq, LLVMBuildFMul(b, s, LLVMBuildFAdd(b, hfsq, R, ""), ""), ""), "");
  LLVMValueRef ef = LLVMBuildSIToFP(b, e, c->t_f32, "");
  LLVMValueRef res = fmad(c, ef, kf(c, LN2_HI), fmad(c, ef, kf(c, LN2_LO), lm));
  res = sel(c, fcmp(c, LLVMRealOEQ, x, kf(c, INFINITY)), x, res);
  res = sel(c, fcmp(c, LLVMRealOEQ, x, kf(c, 0.0)), kf(c, -INFINITY), res);
  return sel(c, fcmp(c, LLVMRealULT, x, kf(c, 0.0)), kf(c, NAN), res);
}

/* tanh(x): x + x^3 P(x^2) for |x| < 0.55 (minimax, relative error 1e-9),
 * else sign(x) (1 - 2 / (exp(2|x|) + 1)), which tends to 1 by itself. */
static const double TANH_P[5] = {-0.33333317556898723, 0.13332586034026597, -0.053852297897908616, 0.02107162545010538,
                                 -0.006274158105060627};

static LLVMValueRef tanh_f32(cg_ctx *c, LLVMValueRef x) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef a = intr1(c, "llvm.fabs", x);
  LLVMValueRef z = LLVMBuildFMul(b, x, x, "");
  LLVMValueRef small = fmad(c, LLVMBuildFMul(b, x, z, ""), horner(c, z, TANH_P, 5), x);
  LLVMValueRef e = exp_f32(c, LLVMBuildFAdd(b, a, a, ""));
  LLVMValueRef t = LLVMBuildFSub(b, kf(c, 1.0), LLVMBuildFDiv(b, kf(c, 2.0), LLVMBuildFAdd(b, e, kf(c, 1.0), ""), ""), "");
  LLVMValueRef args[2] = {t, x};
  LLVMValueRef large = cg_intrinsic(c, "llvm.copysign", &c->t_f32, 1, args, 2);
  return sel(c, fcmp(c, LLVMRealOLT, a, kf(c, 0.55)), small, large);
}

/* erf(x), odd: for |x| < 2, x P(x^2) / Q(x^2) (rational minimax of
 * degrees 4/4 in x^2, relative error 6.7e-10; all coefficients positive,
 * so it is evaluated without cancellation; below 1 as x 2/sqrt(pi) plus a
 * small correction, which keeps the rounding of the leading term alone);
 * for 2 <= |x| < 3.92,
 * 1 - exp(-x^2) R(1/x) with R minimax (relative error 2.6e-8) for
 * erfc(x) exp(x^2), which keeps the small erfc accurate where erf is
 * near 1. Past 3.92, erf rounds to +-1 in float, which the clamped
 * argument gives. */
static const double ERF_P[5] = {1.128379166334971, 0.2170077251145488, 0.04975451751306009, 0.0038237114061686547,
                                8.449099959179085e-05};
static const double ERF_Q[5] = {1.0, 0.5256513862974845, 0.11931123732177824, 0.014402401797580976,
                                0.0008323100129302569};
/* (P(z) - P(0) Q(z)) / z: erf(x) = x P(0) + x z S(z) / Q(z), evaluated for
 * |x| < 1 where the leading term dominates and the correction is small. */
static const double ERF_S[4] = {-0.3761263483384083, -0.08487379708122308, -0.01242765873836068,
                                -0.0008546702795637077};
static const double ERFC_R[6] = {9.105390255393064e-05, 0.5619493628370069, 0.02270785522757146, -0.4047651563948304,
                                 0.3710726276815055, -0.1261891709385285};

static LLVMValueRef erf_f32(cg_ctx *c, LLVMValueRef x) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef a = intr1(c, "llvm.fabs", x);
  a = sel(c, fcmp(c, LLVMRealOGT, a, kf(c, 3.92)), kf(c, 3.92), a);
  LLVMValueRef z = LLVMBuildFMul(b, a, a, "");
  LLVMValueRef q = horner(c, z, ERF_Q, 5);
  LLVMValueRef mid = LLVMBuildFDiv(b, LLVMBuildFMul(b, a, horner(c, z, ERF_P, 5), ""), q, "");
  LLVMValueRef corr = LLVMBuildFDiv(b, horner(c, z, ERF_S, 4), q, "");
  LLVMValueRef low = fmad(c, LLVMBuildFMul(b, a, z, ""), corr, LLVMBuildFMul(b, a, kf(c, 1.1283791670955126), ""));
  LLVMValueRef near = sel(c, fcmp(c, LLVMRealOLT, a, kf(c, 1.0)), low, mid);
  LLVMValueRef a2 = sel(c, fcmp(c, LLVMRealOLT, a, kf(c, 2.0)), kf(c, 2.0), a);
  LLVMValueRef u = LLVMBuildFDiv(b, kf(c, 1.0), a2, "");
  LLVMValueRef erfc = LLVMBuildFMul(b, exp_f32(c, LLVMBuildFNeg(b, z, "")), horner(c, u, ERFC_R, 6), "");
  LLVMValueRef far = LLVMBuildFSub(b, kf(c, 1.0), erfc, "");
  LLVMValueRef r = sel(c, fcmp(c, LLVMRealOLT, a, kf(c, 2.0)), near, far);
  r = sel(c, fcmp(c, LLVMRealOGT, r, kf(c, 1.0)), kf(c, 1.0), r);
  LLVMValueRef args[2] = {r, x};
  return cg_intrinsic(c, "llvm.copysign", &c->t_f32, 1, args, 2);
}

/* logistic(x) = 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) for x < 0:
 * the exponential never overflows, so results in the denormal range
 * (x < -87.3) come out right, and the limits are 0 and 1. */
static LLVMValueRef logistic_f32(cg_ctx *c, LLVMValueRef x) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef a = intr1(c, "llvm.fabs", x);
  LLVMValueRef e = exp_f32(c, LLVMBuildFNeg(b, a, ""));
  LLVMValueRef den = LLVMBuildFAdd(b, kf(c, 1.0), e, "");
  LLVMValueRef num = sel(c, fcmp(c, LLVMRealOLT, x, kf(c, 0.0)), e, kf(c, 1.0));
  return LLVMBuildFDiv(b, num, den, "");
}

LLVMValueRef cg_math_unary(cg_ctx *c, ir_op op, LLVMValueRef x) {
  LLVMBuilderRef b = c->b;
  LLVMTypeRef t = LLVMTypeOf(x);
  if (t == c->t_f32) {
    switch (op) {
      case IR_OP_EXP: return exp_f32(c, x);
      case IR_OP_LOG: return log_f32(c, x);
      case IR_OP_TANH: return tanh_f32(c, x);
      case IR_OP_LOGISTIC: return logistic_f32(c, x);
      case IR_OP_ERF: return erf_f32(c, x);
      default: break;
    }
  }
  switch (op) {
    case IR_OP_EXP: return intr1(c, "llvm.exp", x);
    case IR_OP_LOG: return intr1(c, "llvm.log", x);
    case IR_OP_SIN: return intr1(c, "llvm.sin", x);
    case IR_OP_COS: return intr1(c, "llvm.cos", x);
    case IR_OP_SQRT: return intr1(c, "llvm.sqrt", x);
    case IR_OP_RSQRT: return LLVMBuildFDiv(b, LLVMConstReal(t, 1.0), intr1(c, "llvm.sqrt", x), "");
    case IR_OP_LOGISTIC: {
      /* 1 / (1 + exp(-x)): exp overflows to inf for very negative x, which
       * gives the right limit 0. */
      LLVMValueRef e = intr1(c, "llvm.exp", LLVMBuildFNeg(b, x, ""));
      return LLVMBuildFDiv(b, LLVMConstReal(t, 1.0), LLVMBuildFAdd(b, LLVMConstReal(t, 1.0), e, ""), "");
    }
    case IR_OP_EXPM1: return libm1(c, "expm1", x);
    case IR_OP_LOG1P: return libm1(c, "log1p", x);
    case IR_OP_TANH: return libm1(c, "tanh", x);
    case IR_OP_ERF: return libm1(c, "erf", x);
    case IR_OP_TAN: return libm1(c, "tan", x);
    case IR_OP_ACOS: return libm1(c, "acos", x);
    case IR_OP_ASIN: return libm1(c, "asin", x);
    case IR_OP_ATAN: return libm1(c, "atan", x);
    case IR_OP_SINH: return libm1(c, "sinh", x);
    case IR_OP_COSH: return libm1(c, "cosh", x);
    case IR_OP_ASINH: return libm1(c, "asinh", x);
    case IR_OP_ACOSH: return libm1(c, "acosh", x);
    case IR_OP_ATANH: return libm1(c, "atanh", x);
    default:
      cg_fail(c, "internal: %s is not a float function", ir_op_name(op));
      return LLVMGetUndef(t);
  }
}

LLVMValueRef cg_math_pow(cg_ctx *c, LLVMValueRef x, LLVMValueRef y) {
  LLVMTypeRef t = LLVMTypeOf(x);
  LLVMValueRef args[2] = {x, y};
  return cg_intrinsic(c, "llvm.pow", &t, 1, args, 2);
}

LLVMValueRef cg_math_atan2(cg_ctx *c, LLVMValueRef x, LLVMValueRef y) {
  LLVMTypeRef t = LLVMTypeOf(x);
  LLVMValueRef args[2] = {x, y};
  return cg_call_math(c, t == c->t_f32 ? "atan2f" : "atan2", t, args, 2);
}

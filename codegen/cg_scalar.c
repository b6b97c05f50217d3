/*
 * Scalar semantics of the IR's elementwise ops (docs/ir.md), one element at
 * a time on register values (cg_internal.h). Everything that differs from
 * the plain LLVM instruction is spelled out here: integer division and
 * remainder by zero, INT_MIN / -1, shift amounts >= the width, NaN-
 * propagating max/min, saturating float-to-int conversion, integer pow.
 * None of it branches, so loops over these stay vectorizable.
 *
 * f16 and bf16 are computed in float and rounded back to their precision
 * after every op (cg_round), which for the IEEE basic operations gives the
 * same result as the interpreter's "compute in double, round once".
 */
#include <math.h>

#include "codegen/cg_internal.h"

static LLVMValueRef fmath_flags(LLVMValueRef v, LLVMFastMathFlags f) {
  if (LLVMCanValueUseFastMathFlags(v)) LLVMSetFastMathFlags(v, f);
  return v;
}

/* The most negative value of a signed integer type, as a register constant. */
static LLVMValueRef int_min(cg_ctx *c, ir_type t) {
  int bits = ir_type_bits(t);
  return LLVMConstInt(cg_vtype(c, t), 1ULL << (bits - 1), 0);
}

/* max (is_max) or min. Floats: NaN if either is NaN (x + y is then a NaN),
 * else x > y ? x : y (max) or x < y ? x : y (min). */
static LLVMValueRef min_max(cg_ctx *c, ir_type t, LLVMValueRef x, LLVMValueRef y, bool is_max) {
  LLVMBuilderRef b = c->b;
  if (ir_type_is_float(t)) {
    LLVMValueRef r = LLVMBuildSelect(b, LLVMBuildFCmp(b, is_max ? LLVMRealOGT : LLVMRealOLT, x, y, ""), x, y, "");
    LLVMValueRef nan = LLVMBuildFCmp(b, LLVMRealUNO, x, y, "");
    return LLVMBuildSelect(b, nan, LLVMBuildFAdd(b, x, y, ""), r, "");
  }
  bool u = ir_type_is_unsigned(t) || t == IR_PRED;
  LLVMIntPredicate p = is_max ? (u ? LLVMIntUGT : LLVMIntSGT) : (u ? LLVMIntULT : LLVMIntSLT);
  return LLVMBuildSelect(b, LLVMBuildICmp(b, p, x, y, ""), x, y, "");
}

LLVMValueRef cg_max(cg_ctx *c, ir_type t, LLVMValueRef x, LLVMValueRef y) { return min_max(c, t, x, y, true); }
LLVMValueRef cg_min(cg_ctx *c, ir_type t, LLVMValueRef x, LLVMValueRef y) { return min_max(c, t, x, y, false); }

/* x / y and x rem y for integers: y == 0 gives 0 (div) or x (rem); signed
 * INT_MIN / -1 gives INT_MIN (rem 0). The divisor is replaced by 1 where
 * the instruction would be undefined, then the result fixed up. */
static LLVMValueRef int_divrem(cg_ctx *c, ir_type t, LLVMValueRef x, LLVMValueRef y, bool rem) {
  LLVMBuilderRef b = c->b;
  LLVMTypeRef ty = cg_vtype(c, t);
  LLVMValueRef zero = LLVMConstInt(ty, 0, 0), one = LLVMConstInt(ty, 1, 0);
  LLVMValueRef yzero = LLVMBuildICmp(b, LLVMIntEQ, y, zero, "");
  LLVMValueRef bad = yzero;
  bool sgn = ir_type_is_signed(t);
  if (sgn) {
    LLVMValueRef ovf = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntEQ, x, int_min(c, t), ""),
                                    LLVMBuildICmp(b, LLVMIntEQ, y, LLVMConstAllOnes(ty), ""), "");
    bad = LLVMBuildOr(b, bad, ovf, "");
  }
  LLVMValueRef safe = LLVMBuildSelect(b, bad, one, y, "");
  LLVMValueRef r;
  if (rem) r = sgn ? LLVMBuildSRem(b, x, safe, "") : LLVMBuildURem(b, x, safe, "");
  else r = sgn ? LLVMBuildSDiv(b, x, safe, "") : LLVMBuildUDiv(b, x, safe, "");
  /* With the divisor 1: INT_MIN / 1 = INT_MIN and INT_MIN rem 1 = 0 are
   * already right; only division by zero needs fixing. */
  return LLVMBuildSelect(b, yzero, rem ? x : zero, r, "");
}

/* Shifts: amounts read as unsigned; >= width gives 0, or the sign fill for
 * arithmetic right shifts. */
static LLVMValueRef int_shift(cg_ctx *c, ir_op op, ir_type t, LLVMValueRef x, LLVMValueRef n) {
  LLVMBuilderRef b = c->b;
  LLVMTypeRef ty = cg_vtype(c, t);
  int bits = ir_type_bits(t);
  LLVMValueRef wmax = LLVMConstInt(ty, (unsigned long long)(bits - 1), 0);
  LLVMValueRef big = LLVMBuildICmp(b, LLVMIntUGT, n, wmax, "");
  LLVMValueRef amt = LLVMBuildSelect(b, big, wmax, n, "");
  switch (op) {
    case IR_OP_SHL: return LLVMBuildSelect(b, big, LLVMConstInt(ty, 0, 0), LLVMBuildShl(b, x, amt, ""), "");
    case IR_OP_SHR_L: return LLVMBuildSelect(b, big, LLVMConstInt(ty, 0, 0), LLVMBuildLShr(b, x, amt, ""), "");
    default: return LLVMBuildAShr(b, x, amt, ""); /* amount bits-1 is the sign fill */
  }
}

/* Integer pow by squaring over every bit of the exponent, unrolled into
 * selects (no control flow). Negative exponents (signed types): 1 for base
 * 1, +-1 for base -1, else 0. pow(0, 0) = 1 falls out. */
static LLVMValueRef int_pow(cg_ctx *c, ir_type t, LLVMValueRef x, LLVMValueRef e) {
  LLVMBuilderRef b = c->b;
  LLVMTypeRef ty = cg_vtype(c, t);
  int bits = ir_type_bits(t);
  LLVMValueRef one = LLVMConstInt(ty, 1, 0), zero = LLVMConstInt(ty, 0, 0);
  LLVMValueRef acc = one, base = x;
  for (int i = 0; i < bits; i++) {
    LLVMValueRef bit = LLVMBuildAnd(b, LLVMBuildLShr(b, e, LLVMConstInt(ty, (unsigned)i, 0), ""), one, "");
    LLVMValueRef take = LLVMBuildICmp(b, LLVMIntNE, bit, zero, "");
    acc = LLVMBuildSelect(b, take, LLVMBuildMul(b, acc, base, ""), acc, "");
    if (i + 1 < bits) base = LLVMBuildMul(b, base, base, "");
  }
  if (!ir_type_is_signed(t)) return acc;
  LLVMValueRef neg = LLVMBuildICmp(b, LLVMIntSLT, e, zero, "");
  LLVMValueRef minus1 = LLVMConstAllOnes(ty);
  LLVMValueRef odd = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildAnd(b, e, one, ""), zero, "");
  LLVMValueRef negres = LLVMBuildSelect(
      b, LLVMBuildICmp(b, LLVMIntEQ, x, one, ""), one,
      LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, x, minus1, ""), LLVMBuildSelect(b, odd, minus1, one, ""), zero,
                      ""),
      "");
  return LLVMBuildSelect(b, neg, negres, acc, "");
}

LLVMValueRef cg_unary(cg_ctx *c, ir_op op, ir_type t, LLVMValueRef x) {
  LLVMBuilderRef b = c->b;
  LLVMTypeRef ty = LLVMTypeOf(x);
  bool fl = ir_type_is_float(t);
  LLVMValueRef r;
  switch (op) {
    case IR_OP_COPY: return x;
    case IR_OP_NEG:
      r = fl ? LLVMBuildFNeg(b, x, "") : LLVMBuildSub(b, LLVMConstInt(ty, 0, 0), x, "");
      break;
    case IR_OP_ABS:
      if (fl) r = cg_intrinsic(c, "llvm.fabs", &ty, 1, &x, 1);
      else if (ir_type_is_signed(t)) {
        LLVMValueRef args[2] = {x, LLVMConstInt(c->t_i1, 0, 0)};
        r = cg_intrinsic(c, "llvm.abs", &ty, 1, args, 2);
      } else r = x;
      break;
    case IR_OP_SIGN:
      if (fl) {
        LLVMValueRef z = LLVMConstReal(ty, 0.0);
        LLVMValueRef neg = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, z, ""), LLVMConstReal(ty, -1.0), x, "");
        r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, z, ""), LLVMConstReal(ty, 1.0), neg, "");
      } else if (ir_type_is_signed(t)) {
        LLVMValueRef z = LLVMConstInt(ty, 0, 0);
        LLVMValueRef gt = LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntSGT, x, z, ""), ty, "");
        LLVMValueRef lt = LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntSLT, x, z, ""), ty, "");
        r = LLVMBuildSub(b, gt, lt, "");
      } else {
        r = LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntNE, x, LLVMConstInt(ty, 0, 0), ""), ty, "");
      }
      break;
    case IR_OP_NOT: r = LLVMBuildXor(b, x, LLVMConstAllOnes(ty), ""); break;
    case IR_OP_FLOOR: r = cg_intrinsic(c, "llvm.floor", &ty, 1, &x, 1); break;
    case IR_OP_CEIL: r = cg_intrinsic(c, "llvm.ceil", &ty, 1, &x, 1); break;
    case IR_OP_ROUND: r = cg_intrinsic(c, "llvm.roundeven", &ty, 1, &x, 1); break;
    case IR_OP_IS_FINITE: {
      LLVMValueRef a = cg_intrinsic(c, "llvm.fabs", &ty, 1, &x, 1);
      return LLVMBuildFCmp(b, LLVMRealOLT, a, LLVMConstReal(ty, INFINITY), "");
    }
    default: r = cg_math_unary(c, op, x); break;
  }
  return fl ? cg_round(c, t, r) : r;
}

LLVMValueRef cg_binary(cg_ctx *c, ir_op op, ir_type t, LLVMValueRef x, LLVMValueRef y) {
  LLVMBuilderRef b = c->b;
  bool fl = ir_type_is_float(t);
  LLVMValueRef r;
  switch (op) {
    case IR_OP_ADD: r = fl ? LLVMBuildFAdd(b, x, y, "") : LLVMBuildAdd(b, x, y, ""); break;
    case IR_OP_SUB: r = fl ? LLVMBuildFSub(b, x, y, "") : LLVMBuildSub(b, x, y, ""); break;
    case IR_OP_MUL: r = fl ? LLVMBuildFMul(b, x, y, "") : LLVMBuildMul(b, x, y, ""); break;
    case IR_OP_DIV: r = fl ? LLVMBuildFDiv(b, x, y, "") : int_divrem(c, t, x, y, false); break;
    case IR_OP_REM: r = fl ? LLVMBuildFRem(b, x, y, "") : int_divrem(c, t, x, y, true); break;
    case IR_OP_MAX: r = cg_max(c, t, x, y); break;
    case IR_OP_MIN: r = cg_min(c, t, x, y); break;
    case IR_OP_POW: r = fl ? cg_math_pow(c, x, y) : int_pow(c, t, x, y); break;
    case IR_OP_ATAN2: r = cg_math_atan2(c, x, y); break;
    case IR_OP_AND: r = LLVMBuildAnd(b, x, y, ""); break;
    case IR_OP_OR: r = LLVMBuildOr(b, x, y, ""); break;
    case IR_OP_XOR: r = LLVMBuildXor(b, x, y, ""); break;
    case IR_OP_SHL: case IR_OP_SHR_A: case IR_OP_SHR_L: r = int_shift(c, op, t, x, y); break;
    default:
      cg_fail(c, "internal: %s is not a binary op", ir_op_name(op));
      return LLVMGetUndef(LLVMTypeOf(x));
  }
  return fl ? cg_round(c, t, r) : r;
}

LLVMValueRef cg_compare(cg_ctx *c, ir_cmp dir, ir_type t, LLVMValueRef x, LLVMValueRef y) {
  if (ir_type_is_float(t)) {
    static const LLVMRealPredicate fp[] = {LLVMRealOEQ, LLVMRealUNE, LLVMRealOLT, LLVMRealOLE, LLVMRealOGT, LLVMRealOGE};
    return LLVMBuildFCmp(c->b, fp[dir], x, y, "");
  }
  static const LLVMIntPredicate sp[] = {LLVMIntEQ, LLVMIntNE, LLVMIntSLT, LLVMIntSLE, LLVMIntSGT, LLVMIntSGE};
  static const LLVMIntPredicate up[] = {LLVMIntEQ, LLVMIntNE, LLVMIntULT, LLVMIntULE, LLVMIntUGT, LLVMIntUGE};
  return LLVMBuildICmp(c->b, ir_type_is_signed(t) ? sp[dir] : up[dir], x, y, "");
}

LLVMValueRef cg_convert(cg_ctx *c, ir_type from, ir_type to, LLVMValueRef v) {
  LLVMBuilderRef b = c->b;
  if (from == to) return v;
  LLVMTypeRef rt = cg_vtype(c, to);
  bool ff = ir_type_is_float(from), tf = ir_type_is_float(to);
  if (to == IR_PRED) {
    if (ff) return LLVMBuildFCmp(b, LLVMRealUNE, v, LLVMConstReal(LLVMTypeOf(v), 0.0), ""); /* NaN: true */
    return LLVMBuildICmp(b, LLVMIntNE, v, LLVMConstInt(LLVMTypeOf(v), 0, 0), "");
  }
  if (from == IR_PRED) return tf ? cg_round(c, to, LLVMBuildUIToFP(b, v, rt, "")) : LLVMBuildZExt(b, v, rt, "");
  if (!ff && !tf) {
    unsigned fw = LLVMGetIntTypeWidth(LLVMTypeOf(v)), tw = LLVMGetIntTypeWidth(rt);
    if (fw == tw) return v;
    if (fw > tw) return LLVMBuildTrunc(b, v, rt, "");
    return ir_type_is_signed(from) ? LLVMBuildSExt(b, v, rt, "") : LLVMBuildZExt(b, v, rt, "");
  }
  if (!ff && tf) {
    LLVMValueRef r = ir_type_is_signed(from) ? LLVMBuildSIToFP(b, v, rt, "") : LLVMBuildUIToFP(b, v, rt, "");
    return cg_round(c, to, r);
  }
  if (ff && !tf) {
    /* Truncation toward zero, saturating; NaN gives 0: exactly fpto[su]i.sat. */
    LLVMTypeRef tys[2] = {rt, LLVMTypeOf(v)};
    return cg_intrinsic(c, ir_type_is_signed(to) ? "llvm.fptosi.sat" : "llvm.fptoui.sat", tys, 2, &v, 1);
  }
  /* float to float */
  if (from == IR_F64 && to == IR_F16) /* one rounding, not two through f32 */
    return LLVMBuildFPExt(b, LLVMBuildFPTrunc(b, v, c->t_half, ""), c->t_f32, "");
  if (from == IR_F64) return cg_round(c, to, LLVMBuildFPTrunc(b, v, c->t_f32, ""));
  if (to == IR_F64) return LLVMBuildFPExt(b, v, c->t_f64, "");
  return cg_round(c, to, v); /* among f16 / bf16 / f32, all held in float */
}

LLVMValueRef cg_identity(cg_ctx *c, ir_combiner comb, ir_type t) {
  bool fl = ir_type_is_float(t);
  LLVMTypeRef ty = cg_vtype(c, t);
  int bits = ir_type_bits(t);
  bool sgn = ir_type_is_signed(t);
  switch (comb) {
    case IR_COMB_ADD: case IR_COMB_OR: return fl ? LLVMConstReal(ty, 0.0) : LLVMConstInt(ty, 0, 0);
    case IR_COMB_MUL: return fl ? LLVMConstReal(ty, 1.0) : LLVMConstInt(ty, 1, 0);
    case IR_COMB_AND: return LLVMConstAllOnes(ty);
    case IR_COMB_MAX:
      if (fl) return LLVMConstReal(ty, -INFINITY);
      if (sgn) return int_min(c, t);
      return LLVMConstInt(ty, 0, 0);
    case IR_COMB_MIN:
      if (fl) return LLVMConstReal(ty, INFINITY);
      if (sgn) return LLVMConstInt(ty, bits == 64 ? INT64_MAX : (1ULL << (bits - 1)) - 1, 0);
      return LLVMConstAllOnes(ty);
    case IR_COMB_ASSIGN: break;
  }
  return fl ? LLVMConstReal(ty, 0.0) : LLVMConstInt(ty, 0, 0);
}

LLVMValueRef cg_combine(cg_ctx *c, ir_combiner comb, ir_type t, LLVMValueRef acc, LLVMValueRef x, bool reassoc) {
  LLVMBuilderRef b = c->b;
  bool fl = ir_type_is_float(t);
  switch (comb) {
    case IR_COMB_ADD:
      if (!fl) return LLVMBuildAdd(b, acc, x, "");
      return fmath_flags(LLVMBuildFAdd(b, acc, x, ""), reassoc ? LLVMFastMathAllowReassoc : LLVMFastMathNone);
    case IR_COMB_MUL:
      if (!fl) return LLVMBuildMul(b, acc, x, "");
      return fmath_flags(LLVMBuildFMul(b, acc, x, ""), reassoc ? LLVMFastMathAllowReassoc : LLVMFastMathNone);
    case IR_COMB_MAX: return cg_max(c, t, acc, x);
    case IR_COMB_MIN: return cg_min(c, t, acc, x);
    case IR_COMB_AND: return LLVMBuildAnd(b, acc, x, "");
    case IR_COMB_OR: return LLVMBuildOr(b, acc, x, "");
    case IR_COMB_ASSIGN: return x;
  }
  return x;
}

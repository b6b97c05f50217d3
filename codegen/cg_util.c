/*
 * Small building blocks of the code generator: types, constants, element
 * loads and stores (with the pred / f16 / bf16 conventions of
 * cg_internal.h), index arithmetic, counted loops, intrinsics.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/DebugInfo.h>

#include "codegen/cg_backend.h"
#include "ir/literal.h"

bool cg_fail(cg_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_emitv(c->d, DIAG_ERROR, fmt, ap);
  va_end(ap);
  c->failed = true;
  return false;
}

bool cg_fail_unsupported(cg_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_emitv(c->d, DIAG_ERROR, fmt, ap);
  va_end(ap);
  c->failed = true;
  if (c->o && c->o->unsupported) *c->o->unsupported = true;
  return false;
}

LLVMTypeRef cg_mtype(cg_ctx *c, ir_type t) {
  switch (t) {
    case IR_PRED: case IR_I8: case IR_U8: return c->t_i8;
    case IR_I16: case IR_U16: case IR_BF16: return c->t_i16;
    case IR_I32: case IR_U32: return c->t_i32;
    case IR_I64: case IR_U64: return c->t_i64;
    case IR_F16: return c->t_half;
    case IR_F32: return c->t_f32;
    case IR_F64: return c->t_f64;
    default: return c->t_i8;
  }
}

LLVMTypeRef cg_vtype(cg_ctx *c, ir_type t) {
  switch (t) {
    case IR_PRED: return c->t_i1;
    case IR_F16: case IR_BF16: case IR_F32: return c->t_f32;
    default: return cg_mtype(c, t);
  }
}

LLVMValueRef cg_i64(cg_ctx *c, int64_t v) { return LLVMConstInt(c->t_i64, (unsigned long long)v, 1); }
LLVMValueRef cg_i32(cg_ctx *c, int32_t v) { return LLVMConstInt(c->t_i32, (unsigned long long)(int64_t)v, 1); }

LLVMValueRef cg_const_f(cg_ctx *c, ir_type t, double v) {
  if (ir_type_is_float(t)) {
    /* f16/bf16 registers hold the value already rounded to that type. */
    double r = v;
    if (t == IR_F16) r = ir_f16_to_f32(ir_f32_to_f16((float)v));
    else if (t == IR_BF16) r = ir_bf16_to_f32(ir_f32_to_bf16((float)v));
    else if (t == IR_F32) r = (float)v;
    return LLVMConstReal(cg_vtype(c, t), r);
  }
  if (t == IR_PRED) return LLVMConstInt(c->t_i1, v != 0, 0);
  return LLVMConstInt(cg_vtype(c, t), (unsigned long long)(int64_t)v, 1);
}

LLVMValueRef cg_const_i(cg_ctx *c, ir_type t, int64_t v) {
  if (ir_type_is_float(t)) return cg_const_f(c, t, (double)v);
  if (t == IR_PRED) return LLVMConstInt(c->t_i1, v != 0, 0);
  return LLVMConstInt(cg_vtype(c, t), (unsigned long long)v, 1);
}

LLVMValueRef cg_const_elem(cg_ctx *c, ir_type t, const void *data, int64_t i) {
  switch (t) {
    case IR_PRED: return LLVMConstInt(c->t_i1, ((const uint8_t *)data)[i] != 0, 0);
    case IR_F16: return LLVMConstReal(c->t_f32, ir_f16_to_f32(((const uint16_t *)data)[i]));
    case IR_BF16: return LLVMConstReal(c->t_f32, ir_bf16_to_f32(((const uint16_t *)data)[i]));
    case IR_F32: return LLVMConstReal(c->t_f32, ((const float *)data)[i]);
    case IR_F64: {
      /* LLVMConstReal takes a double, which is exact here; NaN payloads
       * do not matter to any op. */
      return LLVMConstReal(c->t_f64, ((const double *)data)[i]);
    }
    default: return LLVMConstInt(cg_vtype(c, t), ir_elem_get_u(t, data, i), 0);
  }
}

/* bf16 bits (i16) of a float, rounded to nearest even; NaN stays a quiet
 * NaN of the same sign. */
static LLVMValueRef f32_to_bf16_bits(cg_ctx *c, LLVMValueRef v) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef bits = LLVMBuildBitCast(b, v, c->t_i32, "");
  LLVMValueRef lsb = LLVMBuildAnd(b, LLVMBuildLShr(b, bits, LLVMConstInt(c->t_i32, 16, 0), ""),
                                  LLVMConstInt(c->t_i32, 1, 0), "");
  LLVMValueRef rounded = LLVMBuildAdd(b, bits, LLVMBuildAdd(b, LLVMConstInt(c->t_i32, 0x7fff, 0), lsb, ""), "");
  LLVMValueRef quiet = LLVMBuildOr(b, bits, LLVMConstInt(c->t_i32, 0x00400000, 0), "");
  LLVMValueRef isnan = LLVMBuildFCmp(b, LLVMRealUNO, v, v, "");
  LLVMValueRef r = LLVMBuildSelect(b, isnan, quiet, rounded, "");
  return LLVMBuildTrunc(b, LLVMBuildLShr(b, r, LLVMConstInt(c->t_i32, 16, 0), ""), c->t_i16, "");
}

static LLVMValueRef bf16_bits_to_f32(cg_ctx *c, LLVMValueRef h) {
  LLVMValueRef w = LLVMBuildShl(c->b, LLVMBuildZExt(c->b, h, c->t_i32, ""), LLVMConstInt(c->t_i32, 16, 0), "");
  return LLVMBuildBitCast(c->b, w, c->t_f32, "");
}

LLVMValueRef cg_round(cg_ctx *c, ir_type t, LLVMValueRef v) {
  if (t == IR_F16) return LLVMBuildFPExt(c->b, LLVMBuildFPTrunc(c->b, v, c->t_half, ""), c->t_f32, "");
  if (t == IR_BF16) return bf16_bits_to_f32(c, f32_to_bf16_bits(c, v));
  return v;
}

LLVMValueRef cg_load(cg_ctx *c, ir_type t, LLVMValueRef base, LLVMValueRef offset) {
  LLVMTypeRef mt = cg_mtype(c, t);
  LLVMValueRef p = LLVMBuildGEP2(c->b, mt, base, &offset, 1, "");
  LLVMValueRef v = LLVMBuildLoad2(c->b, mt, p, "");
  LLVMSetAlignment(v, (unsigned)ir_type_size(t));
  switch (t) {
    case IR_PRED: return LLVMBuildICmp(c->b, LLVMIntNE, v, LLVMConstInt(c->t_i8, 0, 0), "");
    case IR_F16: return LLVMBuildFPExt(c->b, v, c->t_f32, "");
    case IR_BF16: return bf16_bits_to_f32(c, v);
    default: return v;
  }
}

void cg_store(cg_ctx *c, ir_type t, LLVMValueRef base, LLVMValueRef offset, LLVMValueRef v) {
  LLVMTypeRef mt = cg_mtype(c, t);
  switch (t) {
    case IR_PRED: v = LLVMBuildZExt(c->b, v, c->t_i8, ""); break;
    case IR_F16: v = LLVMBuildFPTrunc(c->b, v, c->t_half, ""); break;
    case IR_BF16: v = f32_to_bf16_bits(c, v); break;
    default: break;
  }
  LLVMValueRef p = LLVMBuildGEP2(c->b, mt, base, &offset, 1, "");
  LLVMValueRef s = LLVMBuildStore(c->b, v, p);
  LLVMSetAlignment(s, (unsigned)ir_type_size(t));
}

/* A panel layout (ir/types.h) is the plain layout with the cut dimension
 * replaced by its panel index (ceil(n / panel) entries, in the cut
 * dimension's place) and the position inside a panel as an extra
 * innermost dimension of `panel` entries. Returns the panel index's
 * stride (0 without panels); strides[panel_dim] is then 1, the stride of
 * the position inside a panel. */
int64_t cg_phys_strides(const ir_shape *s, int64_t *strides) {
  int64_t st = s->panel ? s->panel : 1, pst = 0;
  for (int k = 0; k < s->rank; k++) {
    int d = s->minor_to_major[k];
    if (s->panel && d == s->panel_dim) {
      pst = st;
      strides[d] = 1;
      st *= (s->dims[d] + s->panel - 1) / s->panel;
      continue;
    }
    strides[d] = st;
    st *= s->dims[d];
  }
  return pst;
}

/* ---- symbolic dimensions: values from the binding (cg_symbolic.c) ---- */

static LLVMValueRef floor_div(cg_ctx *c, LLVMValueRef a, int64_t b); /* below */

static LLVMValueRef dexpr_value(cg_ctx *c, ir_dexpr e, int depth) {
  ir_dexpr_term t[IR_DEXPR_MAX_TERMS];
  int n = ir_dexpr_terms(c->m, e, t);
  if (n < 0 || depth > 8 || !c->bind) {
    cg_fail(c, "internal error: symbolic dimension expression %u cannot be evaluated here", (unsigned)e);
    return cg_i64(c, 0);
  }
  LLVMValueRef sum = NULL;
  for (int i = 0; i < n; i++) {
    LLVMValueRef v = NULL;
    for (int j = 0; j < t[i].n; j++) {
      const ir_dexpr_atom *a = &t[i].a[j];
      LLVMValueRef x;
      if (a->sym >= 0) {
        LLVMValueRef idx = cg_i64(c, a->sym);
        x = LLVMBuildLoad2(c->b, c->t_i64, LLVMBuildGEP2(c->b, c->t_i64, c->bind, &idx, 1, ""), "");
      } else {
        x = floor_div(c, dexpr_value(c, a->arg, depth + 1), a->div);
      }
      v = v ? LLVMBuildNSWMul(c->b, v, x, "") : x;
    }
    if (!v) v = cg_i64(c, t[i].coeff);
    else if (t[i].coeff != 1) v = LLVMBuildNSWMul(c->b, v, cg_i64(c, t[i].coeff), "");
    sum = sum ? LLVMBuildNSWAdd(c->b, sum, v, "") : v;
  }
  return sum ? sum : cg_i64(c, 0);
}

LLVMValueRef cg_dexpr_value(cg_ctx *c, ir_dexpr e) {
  int64_t v;
  if (ir_dexpr_is_const(c->m, e, &v)) return cg_i64(c, v);
  return dexpr_value(c, e, 0);
}

LLVMValueRef cg_dim(cg_ctx *c, const ir_shape *s, int i) {
  return s->sym[i] ? cg_dexpr_value(c, s->sym[i]) : cg_i64(c, s->dims[i]);
}

/* A product of dimensions: the static ones multiplied at compile time, the
 * symbolic ones (cg_dim, from the binding) at the builder. */
typedef struct dimprod {
  int64_t k;
  LLVMValueRef v; /* NULL: just k */
} dimprod;

static LLVMValueRef dimprod_value(cg_ctx *c, const dimprod *p) {
  if (!p->v) return cg_i64(c, p->k);
  return p->k == 1 ? p->v : LLVMBuildNSWMul(c->b, p->v, cg_i64(c, p->k), "");
}

static void dimprod_mul(cg_ctx *c, dimprod *p, const ir_shape *s, int i) {
  if (!s->sym[i]) {
    p->k *= s->dims[i];
    return;
  }
  LLVMValueRef d = cg_dim(c, s, i);
  p->v = p->v ? LLVMBuildNSWMul(c->b, p->v, d, "") : d;
}

/* ix times strides over the dimensions in `order` (minor first). */
static LLVMValueRef strided(cg_ctx *c, const ir_shape *s, const int *order, const cg_index *ix) {
  dimprod st = {1, NULL};
  LLVMValueRef off = NULL;
  for (int q = 0; q < s->rank; q++) {
    int i = order[q];
    if (s->sym[i] || s->dims[i] != 1) {
      LLVMValueRef t = st.k == 1 && !st.v ? ix->d[i] : LLVMBuildNSWMul(c->b, ix->d[i], dimprod_value(c, &st), "");
      off = off ? LLVMBuildNSWAdd(c->b, off, t, "") : t;
    }
    dimprod_mul(c, &st, s, i);
  }
  return off ? off : cg_i64(c, 0);
}

LLVMValueRef cg_offset(cg_ctx *c, const ir_shape *s, const cg_index *ix) {
  if (ix->linear && ir_shape_same_layout(&ix->lin, s)) return ix->linear;
  /* Symbolic: strides from the binding (no panel layouts: the layout pass
   * packs only constants, which are static). */
  if (!ir_shape_is_static(s)) {
    int order[IR_MAX_RANK];
    for (int i = 0; i < s->rank; i++) order[i] = s->minor_to_major[i];
    return strided(c, s, order, ix);
  }
  int64_t st[IR_MAX_RANK];
  int64_t pst = cg_phys_strides(s, st);
  LLVMValueRef off = NULL;
  for (int i = 0; i < s->rank; i++) {
    if (s->dims[i] == 1) continue; /* the index is 0 */
    LLVMValueRef t;
    if (pst && i == s->panel_dim && s->dims[i] > s->panel) {
      /* index i: panel i / P, position i % P (unsigned: indices are >= 0) */
      LLVMValueRef p = cg_i64(c, s->panel);
      t = LLVMBuildNSWAdd(c->b, LLVMBuildNSWMul(c->b, LLVMBuildUDiv(c->b, ix->d[i], p, ""), cg_i64(c, pst), ""),
                          LLVMBuildURem(c->b, ix->d[i], p, ""), "");
    } else {
      t = st[i] == 1 ? ix->d[i] : LLVMBuildNSWMul(c->b, ix->d[i], cg_i64(c, st[i]), "");
    }
    off = off ? LLVMBuildNSWAdd(c->b, off, t, "") : t;
  }
  return off ? off : cg_i64(c, 0);
}

LLVMValueRef cg_rowmajor(cg_ctx *c, const int64_t *dims, const cg_index *ix) {
  LLVMValueRef off = NULL;
  int64_t st = 1;
  for (int i = ix->rank - 1; i >= 0; i--) {
    if (dims[i] != 1) {
      LLVMValueRef t = st == 1 ? ix->d[i] : LLVMBuildNSWMul(c->b, ix->d[i], cg_i64(c, st), "");
      off = off ? LLVMBuildNSWAdd(c->b, off, t, "") : t;
    }
    st *= dims[i];
  }
  return off ? off : cg_i64(c, 0);
}

LLVMValueRef cg_rowmajor_shape(cg_ctx *c, const ir_shape *s, const cg_index *ix) {
  if (ir_shape_is_static(s)) return cg_rowmajor(c, s->dims, ix);
  int order[IR_MAX_RANK];
  for (int i = 0; i < s->rank; i++) order[i] = s->rank - 1 - i;
  return strided(c, s, order, ix);
}

void cg_delinearize_shape(cg_ctx *c, LLVMValueRef linear, const ir_shape *s, cg_index *ix) {
  if (ir_shape_is_static(s)) {
    cg_delinearize(c, linear, s->rank, s->dims, ix);
    return;
  }
  ix->rank = s->rank;
  LLVMValueRef rest = linear;
  for (int i = s->rank - 1; i >= 0; i--) {
    if (!s->sym[i] && s->dims[i] == 1) {
      ix->d[i] = cg_i64(c, 0);
      continue;
    }
    bool outermost = true;
    for (int j = 0; j < i; j++)
      if (s->sym[j] || s->dims[j] != 1) outermost = false;
    if (outermost) {
      ix->d[i] = rest;
      for (int j = 0; j < i; j++) ix->d[j] = cg_i64(c, 0);
      return;
    }
    LLVMValueRef d = cg_dim(c, s, i);
    ix->d[i] = LLVMBuildURem(c->b, rest, d, "");
    rest = LLVMBuildUDiv(c->b, rest, d, "");
  }
}

void cg_delinearize(cg_ctx *c, LLVMValueRef linear, int rank, const int64_t *dims, cg_index *ix) {
  ix->rank = rank;
  LLVMValueRef rest = linear;
  for (int i = rank - 1; i >= 0; i--) {
    if (dims[i] == 1) {
      ix->d[i] = cg_i64(c, 0);
      continue;
    }
    bool outermost = true;
    for (int j = 0; j < i; j++)
      if (dims[j] != 1) outermost = false;
    if (outermost) {
      ix->d[i] = rest;
      break;
    }
    ix->d[i] = LLVMBuildURem(c->b, rest, cg_i64(c, dims[i]), "");
    rest = LLVMBuildUDiv(c->b, rest, cg_i64(c, dims[i]), "");
  }
  for (int i = 0; i < rank; i++)
    if (!ix->d[i]) ix->d[i] = cg_i64(c, 0);
}

void cg_index_init(cg_kernel *k, cg_index *ix, int rank) {
  memset(ix, 0, sizeof *ix);
  ix->rank = rank;
  ix->uid = ++k->next_uid;
}

LLVMValueRef cg_loop_open(cg_ctx *c, cg_loop *l, LLVMValueRef lo, LLVMValueRef hi, const char *name) {
  LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(c->b));
  l->pre = LLVMGetInsertBlock(c->b);
  l->header = LLVMAppendBasicBlockInContext(c->llc, fn, name);
  l->body = LLVMAppendBasicBlockInContext(c->llc, fn, "body");
  l->exit = LLVMAppendBasicBlockInContext(c->llc, fn, "exit");
  LLVMBuildBr(c->b, l->header);
  LLVMPositionBuilderAtEnd(c->b, l->header);
  l->iv = LLVMBuildPhi(c->b, c->t_i64, name);
  LLVMAddIncoming(l->iv, &lo, &l->pre, 1);
  l->small = LLVMIsAConstantInt(lo) && LLVMIsAConstantInt(hi) &&
             LLVMConstIntGetSExtValue(hi) - LLVMConstIntGetSExtValue(lo) <= 16;
  LLVMValueRef cond = LLVMBuildICmp(c->b, LLVMIntSLT, l->iv, hi, "");
  LLVMBuildCondBr(c->b, cond, l->body, l->exit);
  LLVMPositionBuilderAtEnd(c->b, l->body);
  return l->iv;
}

void cg_loop_close(cg_ctx *c, cg_loop *l) {
  LLVMBasicBlockRef last = LLVMGetInsertBlock(c->b);
  LLVMValueRef next = LLVMBuildNSWAdd(c->b, l->iv, cg_i64(c, 1), "");
  LLVMValueRef br = LLVMBuildBr(c->b, l->header);
  /* Only loops of a few known iterations (window taps, small contractions)
   * may be unrolled: unrolling the long loops the vectorizer already widens
   * and interleaves multiplied compile time (machine scheduling of huge
   * blocks) for no measurable speed. */
  if (!l->small) {
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(c->llc, NULL, 0);
    LLVMMetadataRef dis = LLVMMDStringInContext2(c->llc, "llvm.loop.unroll.disable", 24);
    LLVMMetadataRef ops[2] = {tmp, LLVMMDNodeInContext2(c->llc, &dis, 1)};
    LLVMMetadataRef id = LLVMMDNodeInContext2(c->llc, ops, 2);
    LLVMMetadataReplaceAllUsesWith(tmp, id);
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(c->llc, "llvm.loop", 9), LLVMMetadataAsValue(c->llc, id));
  }
  LLVMAddIncoming(l->iv, &next, &last, 1);
  /* Keep blocks in source order: the exit after everything emitted so far. */
  LLVMMoveBasicBlockAfter(l->exit, last);
  LLVMPositionBuilderAtEnd(c->b, l->exit);
}

LLVMValueRef cg_alloca(cg_ctx *c, LLVMValueRef fn, LLVMTypeRef t, const char *name) {
  LLVMBuilderRef eb = LLVMCreateBuilderInContext(c->llc);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(fn);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first) LLVMPositionBuilderBefore(eb, first);
  else LLVMPositionBuilderAtEnd(eb, entry);
  LLVMValueRef a = LLVMBuildAlloca(eb, t, name);
  LLVMDisposeBuilder(eb);
  return a;
}

LLVMValueRef cg_intrinsic(cg_ctx *c, const char *name, LLVMTypeRef *tys, unsigned ntys, LLVMValueRef *args,
                          unsigned nargs) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(c->mod, id, tys, ntys);
  LLVMTypeRef ft = LLVMIntrinsicGetType(c->llc, id, tys, ntys);
  return LLVMBuildCall2(c->b, ft, f, args, nargs, "");
}

LLVMValueRef cg_call_extern(cg_ctx *c, const char *name, LLVMTypeRef ret, LLVMValueRef *args, unsigned nargs) {
  LLVMTypeRef at[4];
  for (unsigned i = 0; i < nargs && i < 4; i++) at[i] = LLVMTypeOf(args[i]);
  LLVMTypeRef ft = LLVMFunctionType(ret, at, nargs, 0);
  LLVMValueRef f = LLVMGetNamedFunction(c->mod, name);
  if (!f) {
    f = LLVMAddFunction(c->mod, name, ft);
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                               LLVMCreateEnumAttribute(c->llc, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
  }
  return LLVMBuildCall2(c->b, ft, f, args, nargs, "");
}

/* Target attributes are the backend's (cg_backend.h: fn_attrs). */
void cg_fn_attrs(cg_ctx *c, LLVMValueRef fn) { c->backend->fn_attrs(c, fn, false); }
void cg_fn_attrs_baseline(cg_ctx *c, LLVMValueRef fn) { c->backend->fn_attrs(c, fn, true); }

LLVMValueRef cg_call_math(cg_ctx *c, const char *name, LLVMTypeRef ret, LLVMValueRef *args, unsigned nargs) {
  return c->backend->math_call(c, name, ret, args, nargs);
}

LLVMValueRef cg_exported_fn(cg_ctx *c, const char *suffix, LLVMTypeRef ty, bool baseline) {
  char name[256];
  snprintf(name, sizeof name, "kiln_%s_%s", c->o->name, suffix);
  LLVMValueRef fn = LLVMAddFunction(c->mod, name, ty);
  if (baseline) cg_fn_attrs_baseline(c, fn);
  else cg_fn_attrs(c, fn);
  return fn;
}

LLVMValueRef cg_private_const(cg_ctx *c, LLVMValueRef init, const char *name) {
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return g;
}

LLVMValueRef cg_cstring(cg_ctx *c, const char *s) {
  LLVMValueRef g = cg_private_const(c, LLVMConstStringInContext2(c->llc, s, strlen(s), 0), "kiln.str");
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return g;
}

/* "arch-vendor-os-env" → compares arch, os and environment. */
bool cg_same_platform(const char *a, const char *b) {
  char *na = LLVMNormalizeTargetTriple(a), *nb = LLVMNormalizeTargetTriple(b);
  char pa[4][64] = {{0}}, pb[4][64] = {{0}};
  const char *src[2] = {na, nb};
  for (int t = 0; t < 2; t++) {
    char(*dst)[64] = t ? pb : pa;
    const char *s = src[t];
    for (int k = 0; k < 4 && s; k++) {
      const char *e = strchr(s, '-');
      size_t n = e ? (size_t)(e - s) : strlen(s);
      if (n > 63) n = 63;
      memcpy(dst[k], s, n);
      s = e ? e + 1 : NULL;
    }
  }
  bool same = strcmp(pa[0], pb[0]) == 0 && strcmp(pa[2], pb[2]) == 0 && strcmp(pa[3], pb[3]) == 0;
  LLVMDisposeMessage(na);
  LLVMDisposeMessage(nb);
  return same;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *r = malloc(n);
  if (r) memcpy(r, s, n);
  return r;
}

bool cg_images_add(cg_ctx *c, cg_images *imgs, const char *name, const char *kind, const void *bytes, size_t len) {
  if (imgs->n == imgs->cap) {
    uint32_t cap = imgs->cap ? imgs->cap * 2 : 4;
    cg_image *nv = realloc(imgs->v, cap * sizeof *nv);
    if (!nv) return cg_fail(c, "out of memory");
    imgs->v = nv;
    imgs->cap = cap;
  }
  cg_image im = {dup_str(name), dup_str(kind), malloc(len ? len : 1), len};
  if (!im.name || !im.kind || !im.bytes) {
    free(im.name);
    free(im.kind);
    free(im.bytes);
    return cg_fail(c, "out of memory");
  }
  if (len) memcpy(im.bytes, bytes, len);
  imgs->v[imgs->n++] = im;
  return true;
}

void cg_images_free(cg_images *imgs) {
  for (uint32_t i = 0; i < imgs->n; i++) {
    free(imgs->v[i].name);
    free(imgs->v[i].kind);
    free(imgs->v[i].bytes);
  }
  free(imgs->v);
  imgs->v = NULL;
  imgs->n = imgs->cap = 0;
}

LLVMValueRef cg_add_function(cg_ctx *c, const char *prefix, LLVMTypeRef ty, bool internal) {
  char name[128];
  snprintf(name, sizeof name, "%s.%u", prefix, c->nfn++);
  LLVMValueRef fn = LLVMAddFunction(c->mod, name, ty);
  if (internal) LLVMSetLinkage(fn, LLVMInternalLinkage);
  cg_fn_attrs(c, fn);
  return fn;
}

LLVMValueRef cg_clamp_i64(cg_ctx *c, LLVMValueRef v, LLVMValueRef lo, LLVMValueRef hi) {
  LLVMValueRef a = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, v, lo, ""), lo, v, "");
  return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, a, hi, ""), hi, a, "");
}

LLVMValueRef cg_min_i64(cg_ctx *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, a, b, ""), a, b, "");
}

/* floor(a / b) for b > 0 and any sign of a. */
static LLVMValueRef floor_div(cg_ctx *c, LLVMValueRef a, int64_t b) {
  if (b == 1) return a;
  LLVMBuilderRef bd = c->b;
  LLVMValueRef q = LLVMBuildSDiv(bd, a, cg_i64(c, b), ""), r = LLVMBuildSRem(bd, a, cg_i64(c, b), "");
  LLVMValueRef adj = LLVMBuildAnd(bd, LLVMBuildICmp(bd, LLVMIntNE, r, cg_i64(c, 0), ""),
                                  LLVMBuildICmp(bd, LLVMIntSLT, a, cg_i64(c, 0), ""), "");
  return LLVMBuildSub(bd, q, LLVMBuildZExt(bd, adj, c->t_i64, ""), "");
}

void cg_inside_span(cg_ctx *c, LLVMValueRef start, int64_t stride, int64_t w, LLVMValueRef n, LLVMValueRef *lo,
                    LLVMValueRef *hi) {
  LLVMBuilderRef b = c->b;
  /* first q with start + q·s >= 0: ceil(-start / s); last q with start + q·s <= w-1: floor((w-1-start) / s) */
  LLVMValueRef l = LLVMBuildNeg(b, floor_div(c, start, stride), "");
  LLVMValueRef h = LLVMBuildNSWAdd(b, floor_div(c, LLVMBuildNSWSub(b, cg_i64(c, w - 1), start, ""), stride), cg_i64(c, 1), "");
  l = cg_clamp_i64(c, l, cg_i64(c, 0), n);
  *hi = cg_clamp_i64(c, h, l, n);
  *lo = l;
}

LLVMValueRef cg_const_bytes(cg_ctx *c, const void *data, size_t bytes, const char *name) {
  LLVMValueRef init = LLVMConstStringInContext2(c->llc, bytes ? (const char *)data : "", bytes, 1);
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  LLVMSetAlignment(g, 64);
  return g;
}

LLVMValueRef cg_to_i64(cg_ctx *c, ir_type t, LLVMValueRef v) {
  if (t == IR_I64 || t == IR_U64) return v;
  if (ir_type_is_unsigned(t) || t == IR_PRED) return LLVMBuildZExt(c->b, v, c->t_i64, "");
  return LLVMBuildSExt(c->b, v, c->t_i64, "");
}

LLVMValueRef cg_splat(cg_ctx *c, LLVMValueRef v, unsigned n) {
  LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(v), n);
  LLVMValueRef one = LLVMBuildInsertElement(c->b, LLVMGetUndef(vt), v, cg_i32(c, 0), "");
  return LLVMBuildShuffleVector(c->b, one, LLVMGetUndef(vt), LLVMConstNull(LLVMVectorType(c->t_i32, n)), "");
}

/*
 * The whole generated module: which launches run in which order, where each
 * value lives, the exported entry points and the metadata.
 *
 * Values (one "slot" per array an instruction produces; tuple-shaped
 * instructions have one per element):
 *   - parameters: the caller's input buffers;
 *   - constants: read-only globals, 64-byte aligned, in their layout;
 *   - aliases: get_tuple_element, tuple, and a reshape between row-major
 *     arrays are the same bytes as their operand: no code, no buffer;
 *   - everything else is produced by a launch (a kernel call) into a
 *     workspace buffer, or straight into the caller's output buffer when it
 *     is an output that no earlier output already claimed.
 * Outputs that are parameters, constants or repeats are copied at the end.
 *
 * Launches run in instruction order. A fusion instruction launches the
 * kernel of its computation; a conditional or while calls run functions
 * compiled from its computations (see "control flow" below); any other
 * instruction is a fusion of one.
 *
 * Levels: the kernels, plan and run function are built once per level of
 * the backend (c->nlevels; the CPU's --cpu=portable has three, each with
 * its own target attributes and tiles, sharing the constants). How a
 * kernel is generated, how a launch runs it, how the levels' run
 * functions become the exported kiln_NAME_run (the CPU check) and the
 * thread entry points of the description are the backend's (cg_backend.h,
 * codegen/cpu/cpu_backend.c).
 *
 * Buffers: where each value lives is the module's buffer plan (the
 * `buffers` pass, passes/buffers.c; ir.h); a module without one is planned
 * here by the same code (pass_buffers_plan). Slots follow the plan: a value
 * in place of an operand or in a slice of a concatenate is its storage's
 * bytes at an offset, and a concatenate whose operands are its slices
 * launches nothing. Scratch a kernel asks for (known only once it is
 * emitted) lives only during its launch: it goes first fit into the
 * workspace bytes no plan temp uses at that launch.
 *
 * Instrumentation (c->o->instrument, docs/codegen.md "Instrumentation"):
 * every launch (kernel k, in launch order) is bracketed by calls of the
 * trace hook, NULL-checked, with its outputs' pointers after it; the
 * description lists the kernels (name, kind, ONNX nodes, shape, cost,
 * outputs) and kiln_NAME_set_trace sets the hook. Without it nothing of
 * this is emitted. A perturbation (c->o->perturb, test-only) adds 1 to the
 * first element of one launch's first output right after it runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_backend.h"
#include "include/kiln/artifact.h"
#include "ir/cost.h"
#include "ir/extract.h"
#include "passes/pass.h"

/* S_INPLACE, S_SLICE: the bytes of slot `alias` at `offset`. */
enum { S_NONE, S_PARAM, S_CONST, S_ALIAS, S_TEMP, S_OUTPUT, S_SCRATCH, S_INPLACE, S_SLICE };

typedef struct slot {
  int kind;
  ir_id inst;
  uint32_t elem;
  const ir_shape *shape;
  uint32_t alias; /* S_ALIAS: the slot it is; S_INPLACE, S_SLICE: the slot holding it */
  int64_t index;  /* S_PARAM: parameter number; S_OUTPUT: output number */
  int64_t bytes, offset;
  int64_t def, last; /* live range in launch positions (instruction ids) */
  LLVMValueRef global; /* S_CONST */
} slot;

typedef struct plan {
  const ir_comp *e;
  slot *slots;
  uint32_t nslots, cap;
  uint32_t *first; /* [ninsts]: first slot of each instruction */
  cg_launch *launch; /* [ninsts] */
  bool *has_launch;
  uint32_t *scratch_slot; /* [ninsts] */
  int64_t ws;
  ir_plan *owned;         /* the plan made here when the module has none */
  const ir_plan *ip;      /* the buffer plan followed */
  LLVMValueRef *cf_fn;    /* [2 * ninsts]: the run functions a conditional or while calls */
} plan;

/* The arrays an instruction produces (one slot each). */
static uint32_t nvalues(const ir_inst *in) { return in->shape.type == IR_TUPLE ? in->ntuple : 1; }

static uint32_t add_slot(cg_ctx *c, plan *p, slot s) {
  if (p->nslots == p->cap) {
    uint32_t cap = p->cap ? p->cap * 2 : 64;
    slot *ns = realloc(p->slots, cap * sizeof *ns);
    if (!ns) {
      cg_fail(c, "out of memory");
      return 0;
    }
    p->slots = ns;
    p->cap = cap;
  }
  p->slots[p->nslots] = s;
  return p->nslots++;
}

static uint32_t resolve(const plan *p, uint32_t s) {
  while (p->slots[s].kind == S_ALIAS) s = p->slots[s].alias;
  return s;
}

static uint32_t slot_of(const plan *p, ir_id id, uint32_t elem) { return resolve(p, p->first[id] + elem); }

/* The constant's data in the order its layout says (constants are held in
 * logical row-major order), ir_shape_phys_bytes long: the padding of a
 * panel layout's last panel is zeros (the GEMM multiplies by it). Returns
 * data itself when that is the same. */
static const void *const_physical(const ir_inst *in, void **owned) {
  const ir_shape *s = &in->shape;
  *owned = NULL;
  if (ir_shape_has_default_layout(s) || (s->rank < 2 && !s->panel)) return in->data;
  int64_t n = ir_shape_elements(s), es = (int64_t)ir_type_size(s->type);
  char *out = calloc((size_t)ir_shape_phys_bytes(s) + 1, 1);
  if (!out) return NULL;
  int64_t ps[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
  int64_t pst = cg_phys_strides(s, ps);
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    for (int d = 0; d < s->rank; d++)
      off += pst && d == s->panel_dim ? idx[d] / s->panel * pst + idx[d] % s->panel : idx[d] * ps[d];
    memcpy(out + off * es, (const char *)in->data + i * es, (size_t)es);
    for (int d = s->rank - 1; d >= 0; d--) {
      if (++idx[d] < s->dims[d]) break;
      idx[d] = 0;
    }
  }
  *owned = out;
  return out;
}

/* Entry constants in the physical layout, in c->consts under this marker
 * instead of a computation index: the levels of a portable module share
 * one copy of each weight. */
#define ENTRY_CONST UINT32_MAX

static LLVMValueRef const_global(cg_ctx *c, const ir_inst *in, ir_id id) {
  for (uint32_t i = 0; i < c->nconsts; i++)
    if (c->consts[i].comp == ENTRY_CONST && c->consts[i].id == id) return c->consts[i].global;
  if (c->nconsts == c->capconsts) {
    uint32_t cap = c->capconsts ? c->capconsts * 2 : 16;
    cg_const_ref *nc = realloc(c->consts, cap * sizeof *nc);
    if (!nc) {
      cg_fail(c, "out of memory");
      return NULL;
    }
    c->consts = nc;
    c->capconsts = cap;
  }
  void *owned;
  const void *data = const_physical(in, &owned);
  size_t bytes = (size_t)ir_shape_phys_bytes(&in->shape);
  if (!data && bytes) {
    cg_fail(c, "out of memory");
    return NULL;
  }
  LLVMValueRef g = cg_const_bytes(c, data, bytes, "kiln.const");
  free(owned);
  c->consts[c->nconsts++] = (cg_const_ref){ENTRY_CONST, id, g};
  return g;
}

/* The scratch slot of launch id (placed by place_scratch), when its
 * kernel asked for any. False after reporting out of memory. */
static bool add_scratch(cg_ctx *c, plan *p, ir_id id) {
  if (p->launch[id].scratch <= 0) return true;
  slot s;
  memset(&s, 0, sizeof s);
  s.kind = S_SCRATCH;
  s.inst = id;
  s.bytes = p->launch[id].scratch;
  s.def = s.last = id;
  p->scratch_slot[id] = add_slot(c, p, s);
  return !c->failed;
}

/* The slots of every entry value, as the buffer plan says. */
/* Whether value v of the plan has static dimensions. */
static bool value_static(const ir_comp *e, const ir_plan *ip, uint32_t v) {
  for (ir_id id = 0; id < e->ninsts; id++) {
    const ir_inst *in = &e->insts[id];
    if (v >= ip->first[id] && v < ip->first[id] + nvalues(in))
      return ir_shape_is_static(in->shape.type == IR_TUPLE ? &in->tuple[v - ip->first[id]] : &in->shape);
  }
  return true;
}

static bool slots_from_plan(cg_ctx *c, plan *p) {
  const ir_comp *e = p->e;
  if (c->m->plan) {
    p->ip = c->m->plan;
  } else {
    p->ip = p->owned = pass_buffers_plan(c->m, true, NULL);
    if (!p->owned) return cg_fail(c, "out of memory while planning buffers");
  }
  const ir_plan *ip = p->ip;
  if (ip->ninsts != e->ninsts) return cg_fail(c, "the buffer plan is not the entry computation's");
  for (ir_id id = 0; id < e->ninsts; id++) {
    const ir_inst *in = &e->insts[id];
    p->first[id] = p->nslots;
    for (uint32_t k = 0; k < nvalues(in); k++) {
      const ir_buf *u = &ip->bufs[ip->first[id] + k];
      slot s;
      memset(&s, 0, sizeof s);
      s.inst = id;
      s.elem = k;
      s.shape = in->shape.type == IR_TUPLE ? &in->tuple[k] : &in->shape;
      s.bytes = u->size;
      s.def = u->def;
      s.last = u->last;
      s.index = u->index;
      s.offset = u->offset;
      s.alias = u->of;
      switch (u->kind) {
        case IR_BUF_PARAMETER: s.kind = S_PARAM; break;
        case IR_BUF_CONSTANT: s.kind = S_CONST; break; /* its global is made when first used */
        case IR_BUF_OUTPUT: s.kind = S_OUTPUT; break;
        case IR_BUF_TEMP: s.kind = S_TEMP; break;
        case IR_BUF_ALIAS: s.kind = S_ALIAS; break;
        case IR_BUF_IN_PLACE: s.kind = S_INPLACE; break;
        case IR_BUF_SLICE: s.kind = S_SLICE; break;
      }
      /* A slice's offset is static: it holds only when every size before
       * it is (passes/buffers.c never plans that; a plan written by hand
       * may). */
      if (s.kind == S_SLICE && (!ir_shape_is_static(s.shape) || !value_static(e, ip, u->of)))
        return cg_fail(c, "%%%s: the buffer plan writes it into a slice of a concatenation with symbolic dimensions, "
                       "whose offsets are not static", in->name);
      add_slot(c, p, s);
      if (c->failed) return false;
    }
  }
  p->ws = ip->workspace;
  return true;
}

/* A concatenate whose operands its producers wrote into their slices of
 * it: nothing to launch. */
static bool concat_in_place(const plan *p, ir_id id) {
  const ir_inst *in = &p->e->insts[id];
  if (in->op != IR_OP_CONCATENATE || in->nops == 0) return false;
  const slot *o = &p->slots[p->first[in->ops[0]]];
  return o->kind == S_SLICE && o->alias == p->first[id];
}

/* Each launch's scratch, first fit among the plan's temps live at it;
 * scratches of different launches never meet. */
static bool place_scratch(cg_ctx *c, plan *p) {
  const ir_plan *ip = p->ip;
  int64_t *lo = malloc(sizeof(int64_t) * (ip->nvals + 1)), *hi = malloc(sizeof(int64_t) * (ip->nvals + 1));
  uint32_t *tmp = malloc(sizeof(uint32_t) * (ip->nvals + 1));
  if (!lo || !hi || !tmp) {
    free(lo), free(hi), free(tmp);
    return cg_fail(c, "out of memory");
  }
  ir_plan_storage_ranges(ip, lo, hi);
  for (ir_id id = 0; id < p->e->ninsts; id++) {
    if (!p->has_launch[id] || p->launch[id].scratch <= 0) continue;
    slot *s = &p->slots[p->scratch_slot[id]];
    s->offset = pass_buffers_fit(ip, lo, hi, id, s->bytes, tmp);
    int64_t end = s->offset + (s->bytes + 63) / 64 * 64;
    if (end > p->ws) p->ws = end;
  }
  free(lo), free(hi), free(tmp);
  return true;
}

/* ---- launches -------------------------------------------------------------- */

static bool plan_launch(cg_ctx *c, plan *p, ir_id id) {
  const ir_comp *e = p->e;
  const ir_inst *in = &e->insts[id];
  cg_kdesc d;
  memset(&d, 0, sizeof d);
  d.inst = in;
  d.symbolic = c->symbolic;
  uint32_t nout = nvalues(in);
  ir_shape *outs = malloc(sizeof(ir_shape) * nout);
  ir_id *ins = malloc(sizeof(ir_id) * (in->nops + 1));
  const ir_shape **ishapes = malloc(sizeof(ir_shape *) * (in->nops + 1));
  bool ok = outs && ins && ishapes;
  if (!ok) cg_fail(c, "out of memory");
  for (uint32_t k = 0; ok && k < nout; k++) outs[k] = *p->slots[p->first[id] + k].shape;
  if (ok && in->op == IR_OP_FUSION) {
    const ir_comp *fc = c->m->comps[in->called];
    d.comp = fc;
    d.comp_index = in->called;
    d.root = fc->root;
    for (uint32_t k = 0; k < in->nops; k++) {
      ins[k] = ir_comp_param(fc, k);
      /* The buffer holds the operand's value: its dims are the parameter's
       * (checked by the verifier); its layout is the operand's. The
       * operand's own shape, not its slot's: an aliasing reshape shares
       * the bytes of a slot of other dims. */
      ishapes[k] = &e->insts[in->ops[k]].shape;
    }
    d.nin = in->nops;
  } else if (ok) {
    d.comp = e;
    d.comp_index = (uint32_t)c->m->entry;
    d.root = id;
    for (uint32_t k = 0; k < in->nops; k++) {
      bool dup = false;
      for (uint32_t q = 0; q < d.nin; q++) dup = dup || ins[q] == in->ops[k];
      if (dup) continue;
      ins[d.nin] = in->ops[k];
      ishapes[d.nin] = &e->insts[in->ops[k]].shape;
      d.nin++;
    }
  }
  if (ok && p->slots[p->first[id]].kind == S_INPLACE) {
    /* The kernel inputs that are the value written over. */
    ir_id x = p->slots[p->first[id]].inst;
    uint32_t xv = p->slots[p->first[id]].alias;
    for (ir_id q = 0; q < e->ninsts; q++)
      if (p->first[q] == xv) x = q;
    for (uint32_t k = 0, ni = 0; k < in->nops; k++) {
      bool dup = false;
      for (uint32_t q = 0; in->op != IR_OP_FUSION && q < k; q++) dup = dup || in->ops[q] == in->ops[k];
      if (dup) continue;
      if (in->ops[k] == x && ni < 32) d.in_place |= 1u << ni;
      ni++;
    }
  }
  if (ok) {
    d.in_ids = ins;
    d.in_shapes = ishapes;
    d.nout = nout;
    d.out_shapes = outs;
    ok = cg_kernel_emit(c, &d, &p->launch[id]);
  }
  if (ok) {
    p->has_launch[id] = true;
    ok = add_scratch(c, p, id);
  }
  free(outs);
  free(ins);
  free(ishapes);
  return ok;
}

/* ---- the entry function ------------------------------------------------------ */

/* The kernels of the entry in launch order, with the kind each was made
 * as (recorded by level 0's run function), and whether the perturbation
 * found its launch. */
typedef struct klist {
  ir_id *ids;
  const char **kinds;
  uint32_t n;
  bool perturbed;
} klist;

typedef struct entry_state {
  LLVMValueRef fn, ws, *in, *out;
  LLVMValueRef bind; /* symbolic modules: the binding (the run function's 4th parameter) */
  LLVMBasicBlockRef ret;
  LLVMValueRef status_phi;
  /* Instrumented: the trace globals (CG_TRACE_*) and an array for the
   * output pointers handed to the hook. */
  LLVMValueRef hook, user, kernel, bufs;
} entry_state;

static LLVMValueRef slot_ptr(cg_ctx *c, const plan *p, const entry_state *st, uint32_t si) {
  slot *s = &p->slots[resolve(p, si)];
  if (s->kind == S_INPLACE || s->kind == S_SLICE) {
    LLVMValueRef base = slot_ptr(c, p, st, s->alias);
    if (s->kind == S_INPLACE || s->offset == 0) return base;
    LLVMValueRef off = cg_i64(c, s->offset);
    return LLVMBuildGEP2(c->b, c->t_i8, base, &off, 1, "");
  }
  switch (s->kind) {
    case S_PARAM: return st->in[s->index];
    case S_CONST:
      if (!s->global) s->global = const_global(c, &p->e->insts[s->inst], s->inst);
      return s->global ? s->global : LLVMConstNull(c->t_ptr);
    case S_OUTPUT: return st->out[s->index];
    default: {
      LLVMValueRef off = cg_i64(c, s->offset);
      return LLVMBuildGEP2(c->b, c->t_i8, st->ws, &off, 1, "");
    }
  }
}

/* Branches to the return block with `status` when cond holds. */
static void fail_if(cg_ctx *c, entry_state *st, LLVMValueRef cond, int status) {
  LLVMBasicBlockRef cont = LLVMAppendBasicBlockInContext(c->llc, st->fn, "ok");
  LLVMBasicBlockRef here = LLVMGetInsertBlock(c->b);
  LLVMBuildCondBr(c->b, cond, st->ret, cont);
  LLVMValueRef v = cg_i32(c, status);
  LLVMAddIncoming(st->status_phi, &v, &here, 1);
  LLVMMoveBasicBlockAfter(cont, here);
  LLVMPositionBuilderAtEnd(c->b, cont);
}

static LLVMValueRef is_null(cg_ctx *c, LLVMValueRef p) { return LLVMBuildIsNull(c->b, p, ""); }

static void emit_launch(cg_ctx *c, plan *p, entry_state *st, ir_id id, LLVMValueRef args) {
  const ir_inst *in = &p->e->insts[id];
  const cg_launch *l = &p->launch[id];
  uint32_t nout = nvalues(in);
  uint32_t n = 0;
  LLVMValueRef ptrs[512];
  LLVMValueRef *pv = ptrs;
  if (nout + in->nops + 3 > 512) pv = malloc(sizeof(LLVMValueRef) * (nout + in->nops + 3));
  if (!pv) {
    cg_fail(c, "out of memory");
    return;
  }
  for (uint32_t k = 0; k < nout; k++) pv[n++] = slot_ptr(c, p, st, p->first[id] + k);
  /* The kernel's inputs (plan_launch): a fusion's operands, a lone
   * instruction's distinct operands. */
  for (uint32_t k = 0; k < in->nops; k++) {
    bool dup = false;
    for (uint32_t q = 0; in->op != IR_OP_FUSION && q < k; q++) dup = dup || in->ops[q] == in->ops[k];
    if (dup) continue;
    pv[n++] = slot_ptr(c, p, st, slot_of(p, in->ops[k], 0));
  }
  pv[n++] = l->scratch > 0 ? slot_ptr(c, p, st, p->scratch_slot[id]) : LLVMConstNull(c->t_ptr);
  if (c->symbolic) pv[n++] = st->bind;
  for (uint32_t k = 0; k < n; k++) {
    LLVMValueRef idx = cg_i64(c, k);
    LLVMBuildStore(c->b, pv[k], LLVMBuildGEP2(c->b, c->t_ptr, args, &idx, 1, ""));
  }
  if (pv != ptrs) free(pv);
  c->backend->emit_launch(c, l, args);
}

/* custom_call: int TARGET(const void *const *inputs, void *const *outputs,
 * const char *backend_config), resolved when the artifact is loaded. */
static void emit_custom_call(cg_ctx *c, plan *p, entry_state *st, ir_id id, LLVMValueRef args) {
  const ir_inst *in = &p->e->insts[id];
  uint32_t nout = nvalues(in);
  for (uint32_t k = 0; k < in->nops; k++) {
    LLVMValueRef idx = cg_i64(c, k);
    LLVMBuildStore(c->b, slot_ptr(c, p, st, slot_of(p, in->ops[k], 0)), LLVMBuildGEP2(c->b, c->t_ptr, args, &idx, 1, ""));
  }
  for (uint32_t k = 0; k < nout; k++) {
    LLVMValueRef idx = cg_i64(c, in->nops + k);
    LLVMBuildStore(c->b, slot_ptr(c, p, st, p->first[id] + k), LLVMBuildGEP2(c->b, c->t_ptr, args, &idx, 1, ""));
  }
  LLVMValueRef outs_idx = cg_i64(c, in->nops);
  LLVMValueRef outs = LLVMBuildGEP2(c->b, c->t_ptr, args, &outs_idx, 1, "");
  LLVMValueRef cfg = LLVMBuildGlobalStringPtr(c->b, in->config ? in->config : "", "kiln.cfg");
  LLVMValueRef a[3] = {args, outs, cfg};
  LLVMValueRef r = cg_call_extern(c, in->target, c->t_i32, a, 3);
  fail_if(c, st, LLVMBuildICmp(c->b, LLVMIntNE, r, cg_i32(c, 0), ""), KILN_ARTIFACT_ERR_CUSTOM_CALL);
}

static LLVMValueRef shape_bytes(cg_ctx *c, const ir_shape *s);

/* set_symbol: the integer scalar operand, checked against [0, bound],
 * becomes the computed symbol's value in the binding (read by every later
 * kernel and by run_shaped for the outputs' dimensions) and the result. */
static void emit_set_symbol(cg_ctx *c, plan *p, entry_state *st, ir_id id) {
  const ir_inst *in = &p->e->insts[id];
  const ir_shape *xs = &p->e->insts[in->ops[0]].shape;
  LLVMTypeRef xt = LLVMIntTypeInContext(c->llc, (unsigned)ir_type_size(xs->type) * 8);
  LLVMValueRef x = LLVMBuildLoad2(c->b, xt, slot_ptr(c, p, st, slot_of(p, in->ops[0], 0)), "");
  bool uns = ir_type_is_unsigned(xs->type);
  LLVMValueRef v = uns ? LLVMBuildZExt(c->b, x, c->t_i64, "") : LLVMBuildSExt(c->b, x, c->t_i64, "");
  if (ir_type_size(xs->type) == 8 && uns) /* above INT64_MAX: out of bound */
    v = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, v, cg_i64(c, 0), ""), cg_i64(c, INT64_MAX), v, "");
  LLVMValueRef bad = LLVMBuildOr(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, v, cg_i64(c, 0), ""),
                                 LLVMBuildICmp(c->b, LLVMIntSGT, v, cg_i64(c, ir_sym_bound(c->m, (int)in->index)), ""),
                                 "");
  fail_if(c, st, bad, KILN_ARTIFACT_ERR_SHAPE);
  if (st->bind) {
    LLVMValueRef idx = cg_i64(c, in->index);
    LLVMBuildStore(c->b, v, LLVMBuildGEP2(c->b, c->t_i64, st->bind, &idx, 1, ""));
  }
  LLVMBuildStore(c->b, v, slot_ptr(c, p, st, p->first[id]));
}

/* assert(ok, x): the run stops (KILN_ARTIFACT_ERR_SHAPE: the checks are
 * of values that decide shapes) unless ok holds; the result is a copy of
 * x (the small scalars the importer checks). */
static void emit_assert(cg_ctx *c, plan *p, entry_state *st, ir_id id) {
  const ir_inst *in = &p->e->insts[id];
  const ir_shape *xs = &p->e->insts[in->ops[1]].shape;
  if (!ir_shape_equal(xs, &in->shape)) {
    cg_fail(c, "%%%s (assert): the result's layout differs from its operand's", in->name);
    return;
  }
  LLVMValueRef ok = LLVMBuildLoad2(c->b, c->t_i8, slot_ptr(c, p, st, slot_of(p, in->ops[0], 0)), "");
  fail_if(c, st, LLVMBuildICmp(c->b, LLVMIntEQ, ok, LLVMConstInt(c->t_i8, 0, 0), ""), KILN_ARTIFACT_ERR_SHAPE);
  LLVMValueRef dst = slot_ptr(c, p, st, p->first[id]), src = slot_ptr(c, p, st, slot_of(p, in->ops[1], 0));
  if (ir_shape_bytes(xs) > 0 && dst != src) LLVMBuildMemMove(c->b, dst, 1, src, 1, shape_bytes(c, xs));
}

/* custom_call targets become symbol names as they are: letters, digits,
 * '_', '.' and '$', not starting with a digit ("kiln.test.axpy" is fine;
 * C code defines it with an asm label). */
static bool valid_symbol(const char *s) {
  if (!s || !*s || (*s >= '0' && *s <= '9')) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
          *s == '.' || *s == '$'))
      return false;
  return true;
}

/* ---- instrumentation ---------------------------------------------------------- */

/* A trace global (CG_TRACE_*): the runtime's when it has it, else a new
 * internal one, zero. */
static LLVMValueRef trace_global(cg_ctx *c, const char *name, LLVMTypeRef t) {
  LLVMValueRef g = LLVMGetNamedGlobal(c->mod, name);
  if (g) return g;
  g = LLVMAddGlobal(c->mod, t, name);
  LLVMSetInitializer(g, LLVMConstNull(t));
  LLVMSetLinkage(g, LLVMInternalLinkage);
  return g;
}

static LLVMTypeRef trace_fn_type(cg_ctx *c) {
  LLVMTypeRef a[5] = {c->t_ptr, c->t_i32, c->t_i32, c->t_i32, c->t_ptr};
  return LLVMFunctionType(c->t_void, a, 5, 0);
}

/* hook(user, kernel, phase, 0, buffers) when a hook is set; for
 * KERNEL_END, buffers holds instruction id's output pointers. */
static void emit_trace(cg_ctx *c, plan *p, entry_state *st, ir_id id, uint32_t kernel, int phase) {
  if (phase == KILN_ARTIFACT_TRACE_KERNEL_BEGIN) LLVMBuildStore(c->b, cg_i32(c, (int32_t)kernel), st->kernel);
  LLVMValueRef fn = LLVMBuildLoad2(c->b, c->t_ptr, st->hook, "hook");
  LLVMBasicBlockRef here = LLVMGetInsertBlock(c->b);
  LLVMBasicBlockRef call = LLVMAppendBasicBlockInContext(c->llc, st->fn, "trace");
  LLVMBasicBlockRef cont = LLVMAppendBasicBlockInContext(c->llc, st->fn, "traced");
  LLVMBuildCondBr(c->b, LLVMBuildIsNotNull(c->b, fn, ""), call, cont);
  LLVMMoveBasicBlockAfter(call, here);
  LLVMMoveBasicBlockAfter(cont, call);
  LLVMPositionBuilderAtEnd(c->b, call);
  LLVMValueRef bufs = LLVMConstNull(c->t_ptr);
  if (phase == KILN_ARTIFACT_TRACE_KERNEL_END) {
    bufs = st->bufs;
    for (uint32_t k = 0; k < nvalues(&p->e->insts[id]); k++) {
      LLVMValueRef idx = cg_i64(c, k);
      LLVMBuildStore(c->b, slot_ptr(c, p, st, p->first[id] + k), LLVMBuildGEP2(c->b, c->t_ptr, bufs, &idx, 1, ""));
    }
  }
  LLVMValueRef a[5] = {LLVMBuildLoad2(c->b, c->t_ptr, st->user, "user"), cg_i32(c, (int32_t)kernel),
                       cg_i32(c, phase), cg_i32(c, 0), bufs};
  LLVMBuildCall2(c->b, trace_fn_type(c), fn, a, 5, "");
  LLVMBuildBr(c->b, cont);
  LLVMPositionBuilderAtEnd(c->b, cont);
}

/* The test-only fault: output 0's first element (offset 0 in any layout)
 * plus 1 (floats in their register type, f16/bf16 through f32; a pred
 * flipped). */
static void emit_perturb(cg_ctx *c, plan *p, entry_state *st, ir_id id) {
  const slot *s = &p->slots[p->first[id]];
  ir_type t = s->shape->type;
  if (ir_shape_elements(s->shape) == 0) return;
  LLVMValueRef base = slot_ptr(c, p, st, p->first[id]);
  LLVMValueRef v = cg_load(c, t, base, cg_i64(c, 0));
  if (ir_type_is_pred(t)) v = LLVMBuildXor(c->b, v, LLVMConstInt(c->t_i1, 1, 0), "");
  else if (ir_type_is_float(t)) v = LLVMBuildFAdd(c->b, v, cg_const_f(c, t, 1.0), "");
  else v = LLVMBuildAdd(c->b, v, cg_const_i(c, t, 1), "");
  cg_store(c, t, base, cg_i64(c, 0), v);
}

/* ---- control flow ------------------------------------------------------------ */

/*
 * conditional and while: every computation they call is compiled on its
 * own, as a module of its own (ir_extract_comp) through the default pass
 * pipeline, into an internal run function with the entry's signature,
 * i32(inputs, outputs, workspace), for the same level. The caller's launch
 * calls them, handing on a non-zero status.
 *
 * A while's state lives in its result buffers: the operands are copied in,
 * the condition reads the state, the body writes the next state into the
 * launch's scratch (its inputs and outputs must not overlap), which is
 * copied back. The launch's scratch:
 *
 *   [next state, each element 64-byte aligned][pred: 64][callees' workspace]
 *
 * A conditional's scratch is its branches' workspace; the branch writes the
 * result buffers directly.
 */
static bool build_level(cg_ctx *c, const ir_comp *e, uint32_t nin, uint32_t nout, int level, LLVMValueRef *run,
                        int64_t *ws, klist *kl);

static int64_t round64(int64_t n) { return (n + 63) / 64 * 64; }

/* Bytes of the next-state area of a while's scratch. */
static int64_t state_bytes(const ir_inst *in) {
  int64_t n = 0;
  for (uint32_t k = 0; k < nvalues(in); k++) n += round64(ir_shape_bytes(&in->tuple[k]));
  return n;
}

/* Compiles computation ci of c->m into *fn (internal), whose own workspace
 * need is *ws. Nested control flow recurses through build_level. */
static bool compile_callee(cg_ctx *c, uint32_t ci, int level, LLVMValueRef *fn, int64_t *ws) {
  ir_module *sm = ir_extract_comp(c->m, ci, c->d);
  if (!sm) return cg_fail(c, "control flow: could not extract computation %%%s", c->m->comps[ci]->name);
  pass_ctx pc;
  memset(&pc, 0, sizeof pc);
  pc.d = c->d;
  pc.target = &c->target;
  if (!pass_run(sm, NULL, NULL, &pc)) {
    ir_module_destroy(sm);
    return cg_fail(c, "control flow: the passes failed on computation %%%s", c->m->comps[ci]->name);
  }
  const ir_comp *se = ir_module_entry(sm);
  klist kl;
  memset(&kl, 0, sizeof kl);
  kl.ids = calloc(se->ninsts + 1, sizeof *kl.ids);
  kl.kinds = calloc(se->ninsts + 1, sizeof *kl.kinds);
  /* The callee's kernels are not the artifact's: no tracing, no
   * perturbation; its constants are numbered by its own module. */
  const ir_module *m0 = c->m;
  const cg_options *o0 = c->o;
  bool sym0 = c->symbolic;
  LLVMValueRef bind0 = c->bind;
  c->symbolic = false; /* a static callee (plan_control_flow) */
  cg_options o = *c->o;
  o.instrument = false;
  o.perturb = NULL;
  cg_const_ref *k0 = c->consts;
  uint32_t nk0 = c->nconsts, ck0 = c->capconsts;
  c->m = sm;
  c->o = &o;
  c->consts = NULL;
  c->nconsts = c->capconsts = 0;
  LLVMTypeRef pt[3] = {c->t_ptr, c->t_ptr, c->t_ptr};
  *fn = cg_add_function(c, "kiln.cf", LLVMFunctionType(c->t_i32, pt, 3, 0), true);
  bool ok = kl.ids && kl.kinds;
  if (!ok) cg_fail(c, "out of memory");
  if (ok) ok = build_level(c, se, ir_comp_num_params(se), se->insts[se->root].nops, level, fn, ws, &kl);
  free(c->consts);
  c->m = m0;
  c->o = o0;
  c->symbolic = sym0;
  c->bind = bind0;
  c->consts = k0;
  c->nconsts = nk0;
  c->capconsts = ck0;
  free(kl.ids);
  free(kl.kinds);
  ir_module_destroy(sm);
  return ok;
}

/* Plans a conditional or while: its callees' functions and its scratch. */
static bool plan_control_flow(cg_ctx *c, plan *p, ir_id id, int level) {
  const ir_inst *in = &p->e->insts[id];
  /* In a symbolic module, control flow whose shapes are all static (a
   * loop over boxes ahead of a slice to a computed count) compiles as in a
   * static one; the callees take no binding. */
  for (int k = 0; c->symbolic && k < ir_sym_count(c->m); k++)
    if (ir_inst_uses_sym(c->m, in, k))
      return cg_fail_unsupported(c, "%%%s (%s): code generation for symbolic dimensions does not support control flow over "
                                 "symbolic shapes yet; bind the shapes with --input-shape to compile this model", in->name,
                                 ir_op_name(in->op));
  /* The callees read and write plain row-major buffers. */
  for (uint32_t k = 0; k < in->nops; k++)
    if (!ir_shape_has_default_layout(&p->e->insts[in->ops[k]].shape))
      return cg_fail(c, "%%%s (%s): operand %u has a non-row-major layout, which control flow does not take", in->name,
                     ir_op_name(in->op), k);
  uint32_t callee[2];
  int nc = ir_inst_callees(in, callee);
  int64_t ws = 0;
  for (int k = 0; k < nc; k++) {
    int64_t w = 0;
    if (!compile_callee(c, callee[k], level, &p->cf_fn[2 * id + (uint32_t)k], &w)) return false;
    if (w > ws) ws = w;
  }
  memset(&p->launch[id], 0, sizeof p->launch[id]);
  p->launch[id].kind = ir_op_name(in->op);
  p->launch[id].scratch = in->op == IR_OP_WHILE ? state_bytes(in) + 64 + round64(ws) : ws;
  p->has_launch[id] = true;
  return add_scratch(c, p, id);
}

static void store_arg(cg_ctx *c, LLVMValueRef args, uint32_t k, LLVMValueRef v) {
  LLVMValueRef idx = cg_i64(c, k);
  LLVMBuildStore(c->b, v, LLVMBuildGEP2(c->b, c->t_ptr, args, &idx, 1, ""));
}

/* fn(args[0..nin), args[nin..], ws); a non-zero status is returned at once. */
static void call_callee(cg_ctx *c, entry_state *st, LLVMValueRef fn, LLVMValueRef args, uint32_t nin, LLVMValueRef ws) {
  LLVMTypeRef pt[3] = {c->t_ptr, c->t_ptr, c->t_ptr};
  LLVMValueRef idx = cg_i64(c, nin);
  LLVMValueRef a[3] = {args, LLVMBuildGEP2(c->b, c->t_ptr, args, &idx, 1, ""), ws};
  LLVMValueRef r = LLVMBuildCall2(c->b, LLVMFunctionType(c->t_i32, pt, 3, 0), fn, a, 3, "");
  LLVMBasicBlockRef here = LLVMGetInsertBlock(c->b);
  LLVMBasicBlockRef cont = LLVMAppendBasicBlockInContext(c->llc, st->fn, "cf.ok");
  LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntNE, r, cg_i32(c, 0), ""), st->ret, cont);
  LLVMAddIncoming(st->status_phi, &r, &here, 1);
  LLVMMoveBasicBlockAfter(cont, here);
  LLVMPositionBuilderAtEnd(c->b, cont);
}

static LLVMValueRef byte_offset(cg_ctx *c, LLVMValueRef base, int64_t off) {
  LLVMValueRef o = cg_i64(c, off);
  return LLVMBuildGEP2(c->b, c->t_i8, base, &o, 1, "");
}

static void emit_control_flow(cg_ctx *c, plan *p, entry_state *st, ir_id id, LLVMValueRef args) {
  const ir_inst *in = &p->e->insts[id];
  uint32_t nout = nvalues(in);
  LLVMValueRef scratch =
      p->launch[id].scratch > 0 ? slot_ptr(c, p, st, p->scratch_slot[id]) : LLVMConstNull(c->t_ptr);
  if (in->op == IR_OP_CONDITIONAL) {
    LLVMValueRef pv = LLVMBuildLoad2(c->b, c->t_i8, slot_ptr(c, p, st, slot_of(p, in->ops[0], 0)), "pred");
    LLVMValueRef take = LLVMBuildICmp(c->b, LLVMIntNE, pv, LLVMConstInt(c->t_i8, 0, 0), "");
    for (uint32_t k = 1; k < in->nops; k++) store_arg(c, args, k - 1, slot_ptr(c, p, st, slot_of(p, in->ops[k], 0)));
    for (uint32_t k = 0; k < nout; k++) store_arg(c, args, in->nops - 1 + k, slot_ptr(c, p, st, p->first[id] + k));
    LLVMValueRef fn = LLVMBuildSelect(c->b, take, p->cf_fn[2 * id], p->cf_fn[2 * id + 1], "branch");
    call_callee(c, st, fn, args, in->nops - 1, scratch);
    return;
  }
  /* while: the state (result buffers) starts as the operands. */
  LLVMValueRef *cur = malloc(sizeof(LLVMValueRef) * (2 * nout + 1)), *next = cur ? cur + nout : NULL;
  if (!cur) {
    cg_fail(c, "out of memory");
    return;
  }
  int64_t off = 0;
  for (uint32_t k = 0; k < nout; k++) {
    int64_t bytes = ir_shape_bytes(&in->tuple[k]);
    cur[k] = slot_ptr(c, p, st, p->first[id] + k);
    next[k] = byte_offset(c, scratch, off);
    off += round64(bytes);
    LLVMValueRef from = slot_ptr(c, p, st, slot_of(p, in->ops[k], 0));
    if (bytes > 0) LLVMBuildMemMove(c->b, cur[k], 1, from, 1, cg_i64(c, bytes));
  }
  LLVMValueRef pred = byte_offset(c, scratch, off), ws = byte_offset(c, scratch, off + 64);
  LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(c->llc, st->fn, "while.cond");
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->llc, st->fn, "while.body");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->llc, st->fn, "while.done");
  LLVMMoveBasicBlockAfter(head, LLVMGetInsertBlock(c->b));
  LLVMBuildBr(c->b, head);
  LLVMPositionBuilderAtEnd(c->b, head);
  for (uint32_t k = 0; k < nout; k++) store_arg(c, args, k, cur[k]);
  store_arg(c, args, nout, pred);
  call_callee(c, st, p->cf_fn[2 * id], args, nout, ws);
  LLVMValueRef pv = LLVMBuildLoad2(c->b, c->t_i8, pred, "");
  LLVMValueRef go = LLVMBuildICmp(c->b, LLVMIntNE, pv, LLVMConstInt(c->t_i8, 0, 0), "");
  LLVMMoveBasicBlockAfter(body, LLVMGetInsertBlock(c->b));
  LLVMBuildCondBr(c->b, go, body, done);
  LLVMPositionBuilderAtEnd(c->b, body);
  /* args[0, nout) still hold the state from the condition's call. */
  for (uint32_t k = 0; k < nout; k++) store_arg(c, args, nout + k, next[k]);
  call_callee(c, st, p->cf_fn[2 * id + 1], args, nout, ws);
  for (uint32_t k = 0; k < nout; k++) {
    int64_t bytes = ir_shape_bytes(&in->tuple[k]);
    if (bytes > 0) LLVMBuildMemCpy(c->b, cur[k], 1, next[k], 1, cg_i64(c, bytes));
  }
  LLVMMoveBasicBlockAfter(done, LLVMGetInsertBlock(c->b));
  LLVMBuildBr(c->b, head);
  LLVMPositionBuilderAtEnd(c->b, done);
  free(cur);
}

/* The bytes of a dense array of shape s at the builder: at the binding
 * (c->bind) when s is symbolic. */
static LLVMValueRef shape_bytes(cg_ctx *c, const ir_shape *s) {
  if (ir_shape_is_static(s)) return cg_i64(c, ir_shape_bytes(s));
  LLVMValueRef v = cg_i64(c, (int64_t)ir_type_size(s->type));
  for (int i = 0; i < s->rank; i++) v = LLVMBuildNSWMul(c->b, v, cg_dim(c, s, i), "");
  return v;
}

/* The run function of level `level`: the backend makes it (exported as
 * kiln_NAME_run, or internal behind a check that picks a level). Level 0
 * records the kernels in kl. `fixed`: the function to build instead (a
 * control-flow callee's, control_flow below); NULL: the backend's. */
static LLVMValueRef build_run(cg_ctx *c, plan *p, uint32_t nin, uint32_t nout, int level, klist *kl,
                              LLVMValueRef fixed) {
  const ir_comp *e = p->e;
  LLVMTypeRef pt[4] = {c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr};
  LLVMTypeRef run_ty = LLVMFunctionType(c->t_i32, pt, c->symbolic ? 4 : 3, 0);
  LLVMValueRef fn = fixed ? fixed : c->backend->new_run(c, run_ty, level);
  if (!fn) return NULL;
  entry_state st;
  memset(&st, 0, sizeof st);
  st.fn = fn;
  st.in = calloc(nin + 1, sizeof *st.in);
  st.out = calloc(nout + 1, sizeof *st.out);
  if (!st.in || !st.out) {
    free(st.in);
    free(st.out);
    cg_fail(c, "out of memory");
    return fn;
  }
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c->llc, fn, "entry");
  st.ret = LLVMAppendBasicBlockInContext(c->llc, fn, "ret");
  LLVMPositionBuilderAtEnd(c->b, st.ret);
  st.status_phi = LLVMBuildPhi(c->b, c->t_i32, "status");
  LLVMPositionBuilderAtEnd(c->b, entry);
  LLVMValueRef inputs = LLVMGetParam(fn, 0), outputs = LLVMGetParam(fn, 1), ws = LLVMGetParam(fn, 2);
  if (c->symbolic) st.bind = c->bind = LLVMGetParam(fn, 3);
  /* The workspace this call allocated itself (NULL if none); an alloca so
   * every exit can free it (mem2reg turns it into phis). */
  LLVMValueRef owned = cg_alloca(c, fn, c->t_ptr, "owned");
  LLVMBuildStore(c->b, LLVMConstNull(c->t_ptr), owned);
  if (nin) fail_if(c, &st, is_null(c, inputs), KILN_ARTIFACT_ERR_ARGUMENT);
  if (nout) fail_if(c, &st, is_null(c, outputs), KILN_ARTIFACT_ERR_ARGUMENT);
  for (uint32_t i = 0; i < nin; i++) {
    LLVMValueRef idx = cg_i64(c, i);
    st.in[i] = LLVMBuildLoad2(c->b, c->t_ptr, LLVMBuildGEP2(c->b, c->t_ptr, inputs, &idx, 1, ""), "");
    if (ir_shape_bytes(&e->insts[ir_comp_param(e, i)].shape) > 0)
      fail_if(c, &st, is_null(c, st.in[i]), KILN_ARTIFACT_ERR_ARGUMENT);
  }
  const ir_inst *root = &e->insts[e->root];
  for (uint32_t i = 0; i < nout; i++) {
    LLVMValueRef idx = cg_i64(c, i);
    st.out[i] = LLVMBuildLoad2(c->b, c->t_ptr, LLVMBuildGEP2(c->b, c->t_ptr, outputs, &idx, 1, ""), "");
    if (ir_shape_bytes(&root->tuple[i]) > 0) fail_if(c, &st, is_null(c, st.out[i]), KILN_ARTIFACT_ERR_ARGUMENT);
  }
  if (p->ws > 0) {
    /* NULL: allocate for this call; misaligned: refuse. */
    LLVMValueRef misaligned = LLVMBuildICmp(
        c->b, LLVMIntNE, LLVMBuildAnd(c->b, LLVMBuildPtrToInt(c->b, ws, c->t_i64, ""), cg_i64(c, 63), ""), cg_i64(c, 0), "");
    fail_if(c, &st, misaligned, KILN_ARTIFACT_ERR_ALIGNMENT);
    LLVMValueRef a[2] = {cg_i64(c, 64), cg_i64(c, p->ws)};
    LLVMBasicBlockRef here = LLVMGetInsertBlock(c->b);
    LLVMBasicBlockRef alloc = LLVMAppendBasicBlockInContext(c->llc, fn, "alloc");
    LLVMBasicBlockRef have = LLVMAppendBasicBlockInContext(c->llc, fn, "have");
    LLVMBuildCondBr(c->b, is_null(c, ws), alloc, have);
    LLVMPositionBuilderAtEnd(c->b, alloc);
    LLVMValueRef mem = cg_call_extern(c, "aligned_alloc", c->t_ptr, a, 2);
    LLVMBuildStore(c->b, mem, owned);
    LLVMBasicBlockRef alloc_end = LLVMGetInsertBlock(c->b);
    LLVMBuildBr(c->b, have);
    LLVMPositionBuilderAtEnd(c->b, have);
    st.ws = LLVMBuildPhi(c->b, c->t_ptr, "ws");
    LLVMAddIncoming(st.ws, &ws, &here, 1);
    LLVMAddIncoming(st.ws, &mem, &alloc_end, 1);
    fail_if(c, &st, is_null(c, st.ws), KILN_ARTIFACT_ERR_MEMORY);
  } else {
    st.ws = ws;
  }
  uint32_t maxargs = 1;
  for (ir_id id = 0; id < e->ninsts; id++) {
    const ir_inst *in = &e->insts[id];
    uint32_t n = nvalues(in) + in->nops + 3;
    if (n > maxargs) maxargs = n;
  }
  LLVMValueRef args = cg_alloca(c, fn, LLVMArrayType2(c->t_ptr, maxargs), "args");
  bool instr = c->o->instrument;
  if (instr) {
    uint32_t maxout = 1;
    for (ir_id id = 0; id < e->ninsts; id++)
      if (nvalues(&e->insts[id]) > maxout) maxout = nvalues(&e->insts[id]);
    st.hook = trace_global(c, CG_TRACE_HOOK, c->t_ptr);
    st.user = trace_global(c, CG_TRACE_USER, c->t_ptr);
    st.kernel = trace_global(c, CG_TRACE_KERNEL, c->t_i32);
    st.bufs = cg_alloca(c, fn, LLVMArrayType2(c->t_ptr, maxout), "trace.bufs");
  }
  uint32_t kernel = 0;
  for (ir_id id = 0; id < e->ninsts && !c->failed; id++) {
    const ir_inst *in = &e->insts[id];
    bool custom = in->op == IR_OP_CUSTOM_CALL;
    if (in->op == IR_OP_SET_SYMBOL) {
      emit_set_symbol(c, p, &st, id);
      continue;
    }
    if (in->op == IR_OP_ASSERT) {
      emit_assert(c, p, &st, id);
      continue;
    }
    if (!custom && !p->has_launch[id]) continue;
    if (instr) emit_trace(c, p, &st, id, kernel, KILN_ARTIFACT_TRACE_KERNEL_BEGIN);
    if (custom) emit_custom_call(c, p, &st, id, args);
    else if (in->op == IR_OP_CONDITIONAL || in->op == IR_OP_WHILE) emit_control_flow(c, p, &st, id, args);
    else emit_launch(c, p, &st, id, args);
    if (c->o->perturb && strcmp(in->name, c->o->perturb) == 0) {
      emit_perturb(c, p, &st, id);
      kl->perturbed = true;
    }
    if (instr) emit_trace(c, p, &st, id, kernel, KILN_ARTIFACT_TRACE_KERNEL_END);
    if (level == 0) {
      kl->ids[kl->n] = id;
      kl->kinds[kl->n++] = custom ? "custom_call" : p->launch[id].kind ? p->launch[id].kind : "loop";
    }
    kernel++;
  }
  /* Outputs not written in place. */
  for (uint32_t j = 0; j < nout; j++) {
    uint32_t s = slot_of(p, root->ops[j], 0);
    if (p->slots[s].kind == S_OUTPUT && p->slots[s].index == j) continue;
    int64_t bytes = ir_shape_bytes(&root->tuple[j]);
    if (bytes == 0) continue;
    LLVMBuildMemCpy(c->b, st.out[j], 1, slot_ptr(c, p, &st, s), 1, shape_bytes(c, &root->tuple[j]));
  }
  LLVMValueRef zero = cg_i32(c, 0);
  LLVMBasicBlockRef here = LLVMGetInsertBlock(c->b);
  LLVMBuildBr(c->b, st.ret);
  LLVMAddIncoming(st.status_phi, &zero, &here, 1);
  LLVMMoveBasicBlockAfter(st.ret, here);
  LLVMPositionBuilderAtEnd(c->b, st.ret);
  if (p->ws > 0) {
    LLVMValueRef o = LLVMBuildLoad2(c->b, c->t_ptr, owned, "");
    cg_call_extern(c, "free", c->t_void, &o, 1);
  }
  LLVMBuildRet(c->b, st.status_phi);
  c->bind = NULL;
  free(st.in);
  free(st.out);
  return fn;
}

/* ---- exported entry points with shapes -------------------------------------- */

/* How run_shaped finds symbol k's value: input `in`, dimension `dim` is
 * that symbol alone (the first such dimension). */
typedef struct sym_src {
  int32_t in, dim;
} sym_src;

/* Where each symbol is bound from; false (reported) when one appears
 * alone in no input dimension (the shapes of the inputs could not
 * determine it). */
static bool symbol_sources(cg_ctx *c, const ir_comp *e, uint32_t nin, sym_src *src) {
  int n = ir_sym_count(c->m);
  for (int k = 0; k < n; k++) src[k] = (sym_src){-1, -1};
  for (uint32_t i = 0; i < nin; i++) {
    const ir_shape *s = &e->insts[ir_comp_param(e, i)].shape;
    for (int j = 0; j < s->rank; j++) {
      int k = s->sym[j] ? ir_dexpr_as_sym(c->m, s->sym[j]) : -1;
      /* A computed symbol is never an input's (ir_verify): set_symbol gives it. */
      if (k >= 0 && src[k].in < 0 && !ir_sym_is_computed(c->m, k)) src[k] = (sym_src){(int32_t)i, j};
    }
  }
  for (int k = 0; k < n; k++) {
    if (src[k].in >= 0 || ir_sym_is_computed(c->m, k)) continue; /* computed: set_symbol sets it */
    bool used = false;
    for (ir_id id = 0; id < e->ninsts && !used; id++) used = ir_inst_uses_sym(c->m, &e->insts[id], k);
    if (used)
      return cg_fail_unsupported(c, "symbol %s is no input's dimension on its own, so the inputs' shapes cannot bind it",
                                 ir_sym_name(c->m, k));
  }
  return true;
}

/* The binding at the bounds (what kiln_NAME_run runs a symbolic module at). */
static LLVMValueRef bounds_global(cg_ctx *c) {
  int n = ir_sym_count(c->m);
  LLVMValueRef *v = malloc(sizeof(LLVMValueRef) * (size_t)(n ? n : 1));
  if (!v) {
    cg_fail(c, "out of memory");
    return LLVMConstNull(c->t_ptr);
  }
  for (int k = 0; k < n; k++) v[k] = cg_i64(c, ir_sym_bound(c->m, k));
  LLVMValueRef g = cg_private_const(c, LLVMConstArray2(c->t_i64, v, (uint64_t)n), "kiln.bounds");
  free(v);
  return g;
}

/* kiln_NAME_run of a symbolic module: sel(in, out, ws, bounds). */
static LLVMValueRef export_run_at_bounds(cg_ctx *c, LLVMValueRef sel) {
  LLVMTypeRef pt[3] = {c->t_ptr, c->t_ptr, c->t_ptr};
  LLVMValueRef fn = cg_exported_fn(c, "run", LLVMFunctionType(c->t_i32, pt, 3, 0), true);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, fn, "entry"));
  /* A copy: set_symbol writes computed sizes into the binding. */
  int n = ir_sym_count(c->m);
  LLVMValueRef bind = cg_alloca(c, fn, LLVMArrayType2(c->t_i64, (uint64_t)(n ? n : 1)), "bind");
  LLVMBuildMemCpy(c->b, bind, 8, bounds_global(c), 8, cg_i64(c, 8 * (int64_t)n));
  LLVMValueRef a[4] = {LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), LLVMGetParam(fn, 2), bind};
  LLVMBuildRet(c->b, LLVMBuildCall2(c->b, LLVMGlobalGetValueType(sel), sel, a, 4, ""));
  return fn;
}

/* At the builder in fn: returns `status` from fn when cond holds. */
static void return_if(cg_ctx *c, LLVMValueRef fn, LLVMValueRef cond, int status) {
  LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(c->llc, fn, "refuse");
  LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(c->llc, fn, "ok");
  LLVMBuildCondBr(c->b, cond, bad, ok);
  LLVMPositionBuilderAtEnd(c->b, bad);
  LLVMBuildRet(c->b, cg_i32(c, status));
  LLVMPositionBuilderAtEnd(c->b, ok);
}

static LLVMValueRef load_at(cg_ctx *c, LLVMTypeRef t, LLVMValueRef base, int64_t i) {
  LLVMValueRef idx = cg_i64(c, i);
  return LLVMBuildLoad2(c->b, t, LLVMBuildGEP2(c->b, t, base, &idx, 1, ""), "");
}

/* kiln_NAME_run_shaped(inputs, input_dims, outputs, output_dims, ws)
 * (include/kiln/artifact.h, "Symbolic dimensions"): derives the binding
 * from the inputs' dimensions, checking every one (the generated twin of
 * ir_binding_from_params), runs, and writes the outputs' dimensions.
 * `run` is i32(in, out, ws, bind) for a symbolic module (the backend's
 * selector), the exported i32(in, out, ws) of a static one. */
static LLVMValueRef export_run_shaped(cg_ctx *c, const ir_comp *e, LLVMValueRef run, uint32_t nin, uint32_t nout,
                                      const sym_src *src) {
  LLVMTypeRef pt[5] = {c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr};
  LLVMValueRef fn = cg_exported_fn(c, "run_shaped", LLVMFunctionType(c->t_i32, pt, 5, 0), true);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, fn, "entry"));
  LLVMValueRef inputs = LLVMGetParam(fn, 0), in_dims = LLVMGetParam(fn, 1), outputs = LLVMGetParam(fn, 2),
               out_dims = LLVMGetParam(fn, 3), ws = LLVMGetParam(fn, 4);
  int nsyms = c->symbolic ? ir_sym_count(c->m) : 0;
  LLVMValueRef bind = nsyms ? cg_alloca(c, fn, LLVMArrayType2(c->t_i64, (uint64_t)nsyms), "bind") : NULL;
  LLVMValueRef saved_bind = c->bind;
  c->bind = bind;
  if (nin) return_if(c, fn, LLVMBuildIsNull(c->b, in_dims, ""), KILN_ARTIFACT_ERR_ARGUMENT);
  LLVMValueRef *dimp = calloc(nin + 1, sizeof *dimp);
  if (!dimp) {
    c->bind = saved_bind;
    cg_fail(c, "out of memory");
    return fn;
  }
  /* First the symbols, from the dimensions that are one alone, each in
   * [1, bound]; then every dimension against what the binding makes of it. */
  for (uint32_t i = 0; i < nin; i++) {
    const ir_shape *s = &e->insts[ir_comp_param(e, i)].shape;
    if (!s->rank) continue;
    dimp[i] = load_at(c, c->t_ptr, in_dims, i);
    return_if(c, fn, LLVMBuildIsNull(c->b, dimp[i], ""), KILN_ARTIFACT_ERR_ARGUMENT);
  }
  for (int k = 0; k < nsyms; k++) {
    if (src[k].in < 0) { /* computed (the run sets it) or used nowhere */
      LLVMValueRef idx = cg_i64(c, k);
      LLVMBuildStore(c->b, cg_i64(c, ir_sym_bound(c->m, k)), LLVMBuildGEP2(c->b, c->t_i64, bind, &idx, 1, ""));
      continue;
    }
    LLVMValueRef v = load_at(c, c->t_i64, dimp[src[k].in], src[k].dim);
    LLVMValueRef low = LLVMBuildICmp(c->b, LLVMIntSLT, v, cg_i64(c, 1), "");
    LLVMValueRef high = LLVMBuildICmp(c->b, LLVMIntSGT, v, cg_i64(c, ir_sym_bound(c->m, k)), "");
    return_if(c, fn, LLVMBuildOr(c->b, low, high, ""), KILN_ARTIFACT_ERR_SHAPE);
    LLVMValueRef idx = cg_i64(c, k);
    LLVMBuildStore(c->b, v, LLVMBuildGEP2(c->b, c->t_i64, bind, &idx, 1, ""));
  }
  for (uint32_t i = 0; i < nin && !c->failed; i++) {
    const ir_shape *s = &e->insts[ir_comp_param(e, i)].shape;
    for (int j = 0; j < s->rank; j++) {
      LLVMValueRef v = load_at(c, c->t_i64, dimp[i], j);
      return_if(c, fn, LLVMBuildICmp(c->b, LLVMIntNE, v, cg_dim(c, s, j), ""), KILN_ARTIFACT_ERR_SHAPE);
    }
  }
  free(dimp);
  LLVMValueRef st;
  if (c->symbolic) {
    LLVMValueRef a[4] = {inputs, outputs, ws, bind ? bind : LLVMConstNull(c->t_ptr)};
    st = LLVMBuildCall2(c->b, LLVMGlobalGetValueType(run), run, a, 4, "status");
  } else {
    LLVMValueRef a[3] = {inputs, outputs, ws};
    st = LLVMBuildCall2(c->b, LLVMGlobalGetValueType(run), run, a, 3, "status");
  }
  LLVMBasicBlockRef failed = LLVMAppendBasicBlockInContext(c->llc, fn, "failed");
  LLVMBasicBlockRef ran = LLVMAppendBasicBlockInContext(c->llc, fn, "ran");
  LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntNE, st, cg_i32(c, 0), ""), failed, ran);
  LLVMPositionBuilderAtEnd(c->b, failed);
  LLVMBuildRet(c->b, st);
  LLVMPositionBuilderAtEnd(c->b, ran);
  /* The outputs' dimensions, where asked for. */
  if (nout) {
    LLVMBasicBlockRef write = LLVMAppendBasicBlockInContext(c->llc, fn, "dims");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->llc, fn, "done");
    LLVMBuildCondBr(c->b, LLVMBuildIsNull(c->b, out_dims, ""), done, write);
    LLVMPositionBuilderAtEnd(c->b, write);
    const ir_inst *root = &e->insts[e->root];
    for (uint32_t i = 0; i < nout; i++) {
      const ir_shape *s = &root->tuple[i];
      if (!s->rank) continue;
      LLVMValueRef p = load_at(c, c->t_ptr, out_dims, i);
      LLVMBasicBlockRef put = LLVMAppendBasicBlockInContext(c->llc, fn, "put");
      LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(c->llc, fn, "next");
      LLVMBuildCondBr(c->b, LLVMBuildIsNull(c->b, p, ""), next, put);
      LLVMPositionBuilderAtEnd(c->b, put);
      for (int j = 0; j < s->rank; j++) {
        LLVMValueRef idx = cg_i64(c, j);
        LLVMBuildStore(c->b, cg_dim(c, s, j), LLVMBuildGEP2(c->b, c->t_i64, p, &idx, 1, ""));
      }
      LLVMBuildBr(c->b, next);
      LLVMPositionBuilderAtEnd(c->b, next);
    }
    LLVMBuildBr(c->b, done);
    LLVMPositionBuilderAtEnd(c->b, done);
  }
  LLVMBuildRet(c->b, cg_i32(c, 0));
  c->bind = saved_bind;
  return fn;
}

/* ---- metadata ---------------------------------------------------------------- */

static LLVMValueRef tensor_desc(cg_ctx *c, LLVMTypeRef tt, const char *name, const ir_shape *s) {
  LLVMValueRef dims[IR_MAX_RANK], m2m[IR_MAX_RANK];
  for (int i = 0; i < s->rank; i++) {
    dims[i] = cg_i64(c, s->dims[i]);
    m2m[i] = cg_i32(c, s->minor_to_major[i]);
  }
  LLVMValueRef dg = s->rank ? cg_private_const(c, LLVMConstArray2(c->t_i64, dims, (uint64_t)s->rank), "kiln.dims")
                            : LLVMConstNull(c->t_ptr);
  LLVMValueRef mg = s->rank ? cg_private_const(c, LLVMConstArray2(c->t_i32, m2m, (uint64_t)s->rank), "kiln.layout")
                            : LLVMConstNull(c->t_ptr);
  LLVMValueRef f[6] = {cg_cstring(c, name), cg_i32(c, (int32_t)s->type), cg_i32(c, s->rank), dg, mg,
                       cg_i64(c, ir_shape_bytes(s))};
  return LLVMConstNamedStruct(tt, f, 6);
}

/* Appends the ONNX nodes of instruction id of comp (and, for a fusion,
 * of every instruction of its computation, in IR order) to names/ops,
 * each node once. */
static void add_nodes(const ir_module *m, const ir_comp *comp, ir_id id, strbuf *names, strbuf *ops, int depth) {
  const ir_inst *in = &comp->insts[id];
  if (in->op == IR_OP_FUSION && in->called < m->ncomps && depth < 16) {
    const ir_comp *fc = m->comps[in->called];
    for (ir_id q = 0; q < fc->ninsts; q++) add_nodes(m, fc, q, names, ops, depth + 1);
  }
  const char *n = in->loc.name;
  if (!n || !*n) return;
  /* Already listed? names holds "a,b,c" (names may contain anything but
   * are compared whole). */
  size_t len = strlen(n);
  for (const char *at = names->s; at && *at;) {
    const char *end = strchr(at, ',');
    size_t l = end ? (size_t)(end - at) : strlen(at);
    if (l == len && memcmp(at, n, len) == 0) return;
    if (!end) break;
    at = end + 1;
  }
  if (names->len) sb_putc(names, ',');
  if (ops->len) sb_putc(ops, ',');
  sb_puts(names, n);
  sb_puts(ops, in->loc.op_type ? in->loc.op_type : "?");
}

/* The kernel table of an instrumented module: one kiln.kernel
 * (kiln_artifact_kernel) per launch of kl. NULL constant when empty. */
static LLVMValueRef kernel_table(cg_ctx *c, const ir_comp *e, LLVMTypeRef tt, const klist *kl) {
  if (!kl->n) return LLVMConstNull(c->t_ptr);
  LLVMTypeRef kf[9] = {c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr, c->t_f64, c->t_f64, c->t_i32, c->t_ptr};
  LLVMTypeRef kt = LLVMStructCreateNamed(c->llc, "kiln.kernel");
  LLVMStructSetBody(kt, kf, 9, 0);
  LLVMValueRef *rows = calloc(kl->n, sizeof *rows);
  if (!rows) {
    cg_fail(c, "out of memory");
    return LLVMConstNull(c->t_ptr);
  }
  for (uint32_t i = 0; i < kl->n && !c->failed; i++) {
    const ir_inst *in = &e->insts[kl->ids[i]];
    uint32_t nout = nvalues(in);
    LLVMValueRef outs[64], *ov = nout <= 64 ? outs : malloc(sizeof(LLVMValueRef) * nout);
    strbuf names, ops;
    sb_init(&names);
    sb_init(&ops);
    add_nodes(c->m, e, kl->ids[i], &names, &ops, 0);
    char *nn = sb_finish(&names), *no = sb_finish(&ops);
    if (!ov || !nn || !no) {
      cg_fail(c, "out of memory");
    } else {
      for (uint32_t k = 0; k < nout; k++) {
        char oname[512];
        if (in->shape.type == IR_TUPLE) snprintf(oname, sizeof oname, "%s#%u", in->name, k);
        else snprintf(oname, sizeof oname, "%s", in->name);
        ov[k] = tensor_desc(c, tt, oname, in->shape.type == IR_TUPLE ? &in->tuple[k] : &in->shape);
      }
      char shape[1024];
      ir_result_str(&in->shape, in->tuple, in->ntuple, shape, sizeof shape);
      LLVMValueRef f[9] = {cg_cstring(c, in->name),
                           cg_cstring(c, kl->kinds[i]),
                           cg_cstring(c, nn),
                           cg_cstring(c, no),
                           cg_cstring(c, shape),
                           LLVMConstReal(c->t_f64, ir_inst_flops(c->m, e, kl->ids[i])),
                           LLVMConstReal(c->t_f64, ir_inst_bytes(e, kl->ids[i])),
                           cg_i32(c, (int32_t)nout),
                           cg_private_const(c, LLVMConstArray2(tt, ov, nout), "kiln.kernel.outputs")};
      rows[i] = LLVMConstNamedStruct(kt, f, 9);
    }
    free(nn);
    free(no);
    if (ov != outs) free(ov);
  }
  LLVMValueRef g = c->failed ? LLVMConstNull(c->t_ptr) : cg_private_const(c, LLVMConstArray2(kt, rows, kl->n), "kiln.kernels");
  free(rows);
  return g;
}

/* kiln_NAME_set_trace(fn, user): the hook the run function and the pool
 * call (the trace globals). */
static LLVMValueRef set_trace_fn(cg_ctx *c) {
  LLVMTypeRef a[2] = {c->t_ptr, c->t_ptr};
  LLVMValueRef fn = cg_exported_fn(c, "set_trace", LLVMFunctionType(c->t_void, a, 2, 0), true);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, fn, "entry"));
  LLVMBuildStore(c->b, LLVMGetParam(fn, 1), trace_global(c, CG_TRACE_USER, c->t_ptr));
  LLVMBuildStore(c->b, LLVMGetParam(fn, 0), trace_global(c, CG_TRACE_HOOK, c->t_ptr));
  LLVMBuildRetVoid(c->b);
  return fn;
}

/* Per tensor: which symbol each dimension is (KILN_ARTIFACT_DIM_*), and
 * the shape as text; arrays of one entry per tensor of `shapes`. */
static void symbolic_tables(cg_ctx *c, const ir_shape *const *shapes, uint32_t n, const char *what, LLVMValueRef *dimsyms,
                            LLVMValueRef *texts) {
  LLVMValueRef *ds = calloc(n + 1, sizeof *ds), *tx = calloc(n + 1, sizeof *tx);
  if (!ds || !tx) {
    free(ds);
    free(tx);
    cg_fail(c, "out of memory");
    *dimsyms = *texts = LLVMConstNull(c->t_ptr);
    return;
  }
  for (uint32_t i = 0; i < n; i++) {
    const ir_shape *s = shapes[i];
    LLVMValueRef v[IR_MAX_RANK];
    for (int j = 0; j < s->rank; j++) {
      int k = s->sym[j] ? ir_dexpr_as_sym(c->m, s->sym[j]) : -1;
      v[j] = cg_i32(c, !s->sym[j] ? KILN_ARTIFACT_DIM_STATIC : k >= 0 ? k : KILN_ARTIFACT_DIM_EXPR);
    }
    char name[48], text[1024];
    snprintf(name, sizeof name, "kiln.%s.dim_symbols", what);
    ds[i] = s->rank ? cg_private_const(c, LLVMConstArray2(c->t_i32, v, (uint64_t)s->rank), name) : LLVMConstNull(c->t_ptr);
    tx[i] = cg_cstring(c, ir_shape_str_m(c->m, s, text, sizeof text));
  }
  char name[48];
  snprintf(name, sizeof name, "kiln.%s.dim_symbols_table", what);
  *dimsyms = n ? cg_private_const(c, LLVMConstArray2(c->t_ptr, ds, n), name) : LLVMConstNull(c->t_ptr);
  snprintf(name, sizeof name, "kiln.%s.shapes", what);
  *texts = n ? cg_private_const(c, LLVMConstArray2(c->t_ptr, tx, n), name) : LLVMConstNull(c->t_ptr);
  free(ds);
  free(tx);
}

static void build_metadata(cg_ctx *c, const ir_comp *e, int64_t ws, LLVMValueRef run, LLVMValueRef run_shaped,
                           uint32_t nin, uint32_t nout, const klist *kl) {
  LLVMTypeRef tf[6] = {c->t_ptr, c->t_i32, c->t_i32, c->t_ptr, c->t_ptr, c->t_i64};
  LLVMTypeRef tt = LLVMStructCreateNamed(c->llc, "kiln.tensor");
  LLVMStructSetBody(tt, tf, 6, 0);
  LLVMValueRef *ti = malloc(sizeof(LLVMValueRef) * (nin + 1)), *to = malloc(sizeof(LLVMValueRef) * (nout + 1));
  if (!ti || !to) {
    free(ti);
    free(to);
    cg_fail(c, "out of memory");
    return;
  }
  for (uint32_t i = 0; i < nin; i++) {
    const ir_inst *pi = &e->insts[ir_comp_param(e, i)];
    ti[i] = tensor_desc(c, tt, pi->io_name ? pi->io_name : pi->name, &pi->shape);
  }
  const ir_inst *root = &e->insts[e->root];
  for (uint32_t i = 0; i < nout; i++) to[i] = tensor_desc(c, tt, e->output_names[i], &root->tuple[i]);
  LLVMValueRef ig = nin ? cg_private_const(c, LLVMConstArray2(tt, ti, nin), "kiln.inputs") : LLVMConstNull(c->t_ptr);
  LLVMValueRef og = nout ? cg_private_const(c, LLVMConstArray2(tt, to, nout), "kiln.outputs") : LLVMConstNull(c->t_ptr);
  free(ti);
  free(to);

  /* The thread and CPU-check entry points and what the code needs are the
   * backend's. */
  cg_artifact_fns af;
  memset(&af, 0, sizeof af);
  if (!c->backend->artifact_fns(c, &af)) return;
  const char *needs = af.needs;

  bool instr = c->o->instrument;
  LLVMValueRef kernels = instr ? kernel_table(c, e, tt, kl) : LLVMConstNull(c->t_ptr);
  if (c->failed) return;
  /* Symbols and the shapes of the inputs and outputs. */
  int nsyms = ir_sym_count(c->m);
  if (!c->symbolic) nsyms = 0;
  LLVMValueRef *sn = calloc((size_t)nsyms + 1, sizeof *sn), *sb = calloc((size_t)nsyms + 1, sizeof *sb);
  LLVMValueRef *sc = calloc((size_t)nsyms + 1, sizeof *sc);
  const ir_shape **ish = calloc(nin + 1, sizeof *ish), **osh = calloc(nout + 1, sizeof *osh);
  if (!sn || !sb || !sc || !ish || !osh) {
    free(sn);
    free(sb);
    free(sc);
    free(ish);
    free(osh);
    cg_fail(c, "out of memory");
    return;
  }
  for (int k = 0; k < nsyms; k++) {
    sn[k] = cg_cstring(c, ir_sym_name(c->m, k));
    sb[k] = cg_i64(c, ir_sym_bound(c->m, k));
    sc[k] = LLVMConstInt(c->t_i8, ir_sym_is_computed(c->m, k), 0);
  }
  for (uint32_t i = 0; i < nin; i++) ish[i] = &e->insts[ir_comp_param(e, i)].shape;
  for (uint32_t i = 0; i < nout; i++) osh[i] = &root->tuple[i];
  LLVMValueRef in_ds, in_tx, out_ds, out_tx;
  symbolic_tables(c, ish, nin, "inputs", &in_ds, &in_tx);
  symbolic_tables(c, osh, nout, "outputs", &out_ds, &out_tx);
  LLVMValueRef names = nsyms ? cg_private_const(c, LLVMConstArray2(c->t_ptr, sn, (uint64_t)nsyms), "kiln.symbols")
                             : LLVMConstNull(c->t_ptr);
  LLVMValueRef bounds = nsyms ? cg_private_const(c, LLVMConstArray2(c->t_i64, sb, (uint64_t)nsyms), "kiln.symbol_bounds")
                              : LLVMConstNull(c->t_ptr);
  LLVMValueRef computed = nsyms ? cg_private_const(c, LLVMConstArray2(c->t_i8, sc, (uint64_t)nsyms), "kiln.symbol_computed")
                                : LLVMConstNull(c->t_ptr);
  free(sn);
  free(sb);
  free(sc);
  free(ish);
  free(osh);
  if (c->failed) return;
  LLVMTypeRef df[30] = {c->t_i32, c->t_i32, c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr, c->t_i32, c->t_i32,
                        c->t_ptr, c->t_ptr, c->t_i64, c->t_i64, c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr,
                        c->t_ptr, c->t_ptr, c->t_i32, c->t_ptr, c->t_ptr, c->t_i32, c->t_ptr, c->t_ptr,
                        c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr};
  LLVMTypeRef dt = LLVMStructCreateNamed(c->llc, "kiln.desc");
  LLVMStructSetBody(dt, df, 30, 0);
  char producer[64];
  snprintf(producer, sizeof producer, "kiln %s", KILN_VERSION);
  LLVMValueRef dv[30] = {cg_i32(c, KILN_ARTIFACT_ABI_VERSION),
                         cg_i32(c, (int32_t)LLVMABISizeOfType(c->td, dt)),
                         cg_cstring(c, c->o->name),
                         cg_cstring(c, producer),
                         cg_cstring(c, LLVMGetTarget(c->mod)),
                         cg_cstring(c, af.cpu ? af.cpu : ""),
                         cg_i32(c, (int32_t)nin),
                         cg_i32(c, (int32_t)nout),
                         ig,
                         og,
                         cg_i64(c, ws),
                         cg_i64(c, 64),
                         run,
                         af.set_threads ? af.set_threads : LLVMConstNull(c->t_ptr),
                         af.num_threads ? af.num_threads : LLVMConstNull(c->t_ptr),
                         cg_cstring(c, needs ? needs : ""),
                         af.missing_features ? af.missing_features : LLVMConstNull(c->t_ptr),
                         af.selected_cpu ? af.selected_cpu : LLVMConstNull(c->t_ptr),
                         cg_i32(c, instr ? (int32_t)kl->n : 0),
                         kernels,
                         instr ? set_trace_fn(c) : LLVMConstNull(c->t_ptr),
                         cg_i32(c, nsyms),
                         names,
                         bounds,
                         in_ds,
                         out_ds,
                         in_tx,
                         out_tx,
                         run_shaped,
                         computed};
  LLVMValueRef desc = cg_private_const(c, LLVMConstNamedStruct(dt, dv, 30), "kiln.desc");

  LLVMTypeRef info_ty = LLVMFunctionType(c->t_ptr, NULL, 0, 0);
  LLVMValueRef named = cg_exported_fn(c, "info", info_ty, true);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, named, "entry"));
  LLVMBuildRet(c->b, desc);
  LLVMValueRef generic = LLVMAddFunction(c->mod, "kiln_artifact_info", info_ty);
  cg_fn_attrs_baseline(c, generic);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, generic, "entry"));
  LLVMBuildRet(c->b, desc);
  LLVMValueRef wsf = cg_exported_fn(c, "workspace_size", LLVMFunctionType(c->t_i64, NULL, 0, 0), true);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, wsf, "entry"));
  LLVMBuildRet(c->b, cg_i64(c, ws));
}

/* The kernels, buffer plan and run function of entry computation e at
 * `level`: the run function in *run (made by the backend when *run is
 * NULL, else built into the function given: a control-flow callee's), the
 * workspace it needs in *ws. */
static bool build_level(cg_ctx *c, const ir_comp *e, uint32_t nin, uint32_t nout, int level, LLVMValueRef *run,
                        int64_t *ws, klist *kl) {
  plan p;
  memset(&p, 0, sizeof p);
  p.e = e;
  size_t n = e->ninsts ? e->ninsts : 1;
  p.first = calloc(n, sizeof *p.first);
  p.launch = calloc(n, sizeof *p.launch);
  p.has_launch = calloc(n, sizeof *p.has_launch);
  p.scratch_slot = calloc(n, sizeof *p.scratch_slot);
  p.cf_fn = calloc(2 * n, sizeof *p.cf_fn);
  bool ok = p.first && p.launch && p.has_launch && p.scratch_slot && p.cf_fn;
  if (!ok) cg_fail(c, "out of memory");
  if (ok) ok = slots_from_plan(c, &p);
  for (ir_id id = 0; ok && id < e->ninsts; id++) {
    const ir_inst *in = &e->insts[id];
    if (in->op == IR_OP_CONDITIONAL || in->op == IR_OP_WHILE) {
      ok = plan_control_flow(c, &p, id, level);
      continue;
    }
    int k = p.slots[p.first[id]].kind;
    if (k != S_TEMP && k != S_OUTPUT && k != S_INPLACE && k != S_SLICE) continue;
    if (in->op == IR_OP_CUSTOM_CALL || in->op == IR_OP_SET_SYMBOL || in->op == IR_OP_ASSERT || concat_in_place(&p, id))
      continue;
    ok = plan_launch(c, &p, id);
  }
  if (ok) ok = place_scratch(c, &p);
  if (ok) {
    *run = build_run(c, &p, nin, nout, level, kl, *run);
    ok = !c->failed;
  }
  *ws = p.ws;
  free(p.slots);
  free(p.first);
  free(p.launch);
  free(p.has_launch);
  free(p.scratch_slot);
  free(p.cf_fn);
  ir_plan_free(p.owned);
  return ok;
}

/* The perturbation names no launch: says so, with the first kernels'
 * names (a user can only give names of the optimised IR). */
static bool perturb_unknown(cg_ctx *c, const ir_comp *e, const klist *kl) {
  strbuf b;
  sb_init(&b);
  for (uint32_t i = 0; i < kl->n && i < 8; i++) sb_printf(&b, "%s%s", i ? ", " : "", e->insts[kl->ids[i]].name);
  if (kl->n > 8) sb_printf(&b, ", ... (%u in all)", kl->n);
  char *list = sb_finish(&b);
  cg_fail(c, "--debug-perturb: no kernel named %s (kernels: %s)", c->o->perturb, list ? list : "?");
  free(list);
  return false;
}

bool cg_build_module(cg_ctx *c, size_t *workspace_size) {
  const ir_comp *e = ir_module_entry(c->m);
  if (!e || e->root == IR_NONE) return cg_fail(c, "the module has no entry computation");
  const ir_inst *root = &e->insts[e->root];
  if (root->op != IR_OP_TUPLE) return cg_fail(c, "the entry computation's root must be a tuple");
  uint32_t nin = ir_comp_num_params(e), nout = root->nops;
  c->symbolic = ir_module_is_symbolic(c->m);
  sym_src *src = calloc((size_t)ir_sym_count(c->m) + 1, sizeof *src);
  if (!src) return cg_fail(c, "out of memory");
  if (c->symbolic && !symbol_sources(c, e, nin, src)) {
    free(src);
    return false;
  }
  /* Every op the code generator cannot lower is reported at once. */
  int bad = 0;
  for (ir_id id = 0; id < e->ninsts; id++) {
    const ir_inst *in = &e->insts[id];
    if (c->symbolic && in->op == IR_OP_CUSTOM_CALL) {
      cg_fail_unsupported(c, "%%%s: code generation for symbolic dimensions does not support custom_call yet; bind the shapes "
              "with --input-shape to compile this model", in->name);
      bad++;
    }
    if (in->op == IR_OP_CUSTOM_CALL && !valid_symbol(in->target)) {
      cg_fail(c, "%%%s: custom_call target \"%s\" cannot be a symbol name (letters, digits, '_', '.', '$')",
              in->name, in->target);
      bad++;
    }
  }
  if (bad) {
    free(src);
    return false;
  }

  /* One set of kernels and one run function per level (one level unless
   * portable), each generated with its own target attributes, vector width
   * and register tiles; constants (c->consts) are shared by all. */
  LLVMValueRef impl[3] = {NULL, NULL, NULL};
  klist kl;
  memset(&kl, 0, sizeof kl);
  kl.ids = calloc(e->ninsts + 1, sizeof *kl.ids);
  kl.kinds = calloc(e->ninsts + 1, sizeof *kl.kinds);
  if (!kl.ids || !kl.kinds || c->nlevels < 1 || c->nlevels > 3) {
    free(kl.ids);
    free(kl.kinds);
    free(src);
    if (c->nlevels < 1 || c->nlevels > 3)
      return cg_fail(c, "internal: the backend asked for %d levels (1 to 3)", c->nlevels);
    return cg_fail(c, "out of memory");
  }
  int64_t ws = 0;
  bool ok = true;
  for (int l = 0; ok && l < c->nlevels; l++) {
    c->backend->set_level(c, l);
    for (uint32_t i = 0; i < c->nkfns; i++) free(c->kfns[i].key);
    c->nkfns = 0; /* kernels of another level have other attributes: never shared */
    int64_t lws = 0;
    ok = build_level(c, e, nin, nout, l, &impl[l], &lws, &kl);
    if (lws > ws) ws = lws;
  }
  c->backend->set_level(c, 0);
  if (ok && c->o->perturb && !kl.perturbed) ok = perturb_unknown(c, e, &kl);
  LLVMValueRef run = NULL, shaped = NULL;
  if (ok) {
    run = c->backend->export_run(c, impl);
    ok = run != NULL;
  }
  if (ok) {
    /* Symbolic: the backend's run takes the binding; kiln_NAME_run runs at
     * the bounds, kiln_NAME_run_shaped at the inputs' dimensions. */
    LLVMValueRef inner = run;
    if (c->symbolic) run = export_run_at_bounds(c, inner);
    shaped = export_run_shaped(c, e, inner, nin, nout, src);
    ok = !c->failed;
  }
  if (ok) {
    build_metadata(c, e, ws, run, shaped, nin, nout, &kl);
    ok = !c->failed;
  }
  free(src);
  free(kl.ids);
  free(kl.kinds);
  *workspace_size = (size_t)ws;
  return ok;
}

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
 * kernel of its computation; any other instruction is a fusion of one.
 *
 * Levels and the CPU check: the kernels, plan and run function are built
 * once per level (one; three for --cpu=portable, each with its own target
 * attributes and tiles, sharing the constants) as internal functions. On
 * x86-64 the exported kiln_NAME_run is baseline code that asks the runtime
 * (runtime/rt_cpu.c) for the CPU's features and calls the best level the
 * CPU has, or returns KILN_ARTIFACT_ERR_CPU. Where the module has no
 * check (other architectures or OSes, kiln built without clang-19) the one
 * run function is exported as it is.
 *
 * Buffer assignment (until the buffers pass exists): a slot is live from
 * the launch that writes it to the last launch that reads it (through
 * aliases); buffers of slots dead before a launch are reused by that
 * launch's outputs, first fit by offset, 64-byte aligned. Scratch a kernel
 * asks for lives only during its launch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_internal.h"
#include "include/kiln/artifact.h"

enum { S_NONE, S_PARAM, S_CONST, S_ALIAS, S_TEMP, S_OUTPUT, S_SCRATCH };

typedef struct slot {
  int kind;
  ir_id inst;
  uint32_t elem;
  const ir_shape *shape;
  uint32_t alias; /* S_ALIAS: the slot it is */
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
 * logical row-major order). Returns data itself when that is the same. */
static const void *const_physical(const ir_inst *in, void **owned) {
  const ir_shape *s = &in->shape;
  *owned = NULL;
  if (ir_shape_has_default_layout(s) || s->rank < 2) return in->data;
  int64_t n = ir_shape_elements(s), es = (int64_t)ir_type_size(s->type);
  char *out = malloc((size_t)(n * es));
  if (!out) return NULL;
  int64_t ps[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
  cg_phys_strides(s, ps);
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    for (int d = 0; d < s->rank; d++) off += idx[d] * ps[d];
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
  size_t bytes = (size_t)ir_shape_bytes(&in->shape);
  if (!data && bytes) {
    cg_fail(c, "out of memory");
    return NULL;
  }
  LLVMValueRef g = cg_const_bytes(c, data, bytes, "kiln.const");
  free(owned);
  c->consts[c->nconsts++] = (cg_const_ref){ENTRY_CONST, id, g};
  return g;
}

static bool is_alias_reshape(const ir_comp *e, const ir_inst *in) {
  if (in->op != IR_OP_RESHAPE && in->op != IR_OP_COPY) return false;
  const ir_shape *x = &e->insts[in->ops[0]].shape;
  if (in->op == IR_OP_COPY) return ir_shape_equal(x, &in->shape);
  return ir_shape_has_default_layout(x) && ir_shape_has_default_layout(&in->shape);
}

/* Creates the slots of every entry instruction. */
static bool make_slots(cg_ctx *c, plan *p) {
  const ir_comp *e = p->e;
  for (ir_id id = 0; id < e->ninsts; id++) {
    const ir_inst *in = &e->insts[id];
    uint32_t n = nvalues(in);
    p->first[id] = p->nslots;
    for (uint32_t k = 0; k < n; k++) {
      slot s;
      memset(&s, 0, sizeof s);
      s.inst = id;
      s.elem = k;
      s.shape = in->shape.type == IR_TUPLE ? &in->tuple[k] : &in->shape;
      s.bytes = ir_shape_bytes(s.shape);
      s.def = id;
      s.last = id;
      switch (in->op) {
        case IR_OP_PARAMETER: s.kind = S_PARAM; s.index = in->index; break;
        case IR_OP_CONSTANT: s.kind = S_CONST; break; /* its global is made when first used */
        case IR_OP_TUPLE: s.kind = S_ALIAS; s.alias = slot_of(p, in->ops[k], 0); break;
        case IR_OP_GET_TUPLE_ELEMENT: s.kind = S_ALIAS; s.alias = slot_of(p, in->ops[0], (uint32_t)in->index); break;
        default:
          if (is_alias_reshape(e, in)) {
            s.kind = S_ALIAS;
            s.alias = slot_of(p, in->ops[0], 0);
          } else {
            s.kind = S_TEMP;
          }
          break;
      }
      add_slot(c, p, s);
      if (c->failed) return false;
    }
  }
  return true;
}

/* Live ranges: every operand read by a launch (through aliases). */
static void liveness(plan *p) {
  const ir_comp *e = p->e;
  for (ir_id id = 0; id < e->ninsts; id++) {
    const ir_inst *in = &e->insts[id];
    if (in->op == IR_OP_TUPLE || in->op == IR_OP_GET_TUPLE_ELEMENT) continue;
    for (uint32_t k = 0; k < in->nops; k++) {
      const ir_inst *op = &e->insts[in->ops[k]];
      uint32_t n = nvalues(op);
      for (uint32_t q = 0; q < n; q++) {
        slot *s = &p->slots[slot_of(p, in->ops[k], q)];
        if (s->last < id) s->last = id;
      }
    }
  }
}

/* Slots in order of definition, ties by slot number. Slots are created in
 * instruction order except scratch, appended later: a merge of the two
 * sorted runs would do, but a stable insertion pass over an almost sorted
 * array is as fast and simpler. */
static void insertion_sort_by_def(const plan *p, uint32_t *order) {
  for (uint32_t i = 1; i < p->nslots; i++) {
    uint32_t v = order[i];
    uint32_t j = i;
    while (j > 0 && p->slots[order[j - 1]].def > p->slots[v].def) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = v;
  }
}

/* First-fit placement of the workspace slots in order of definition. */
static bool assign_buffers(cg_ctx *c, plan *p) {
  uint32_t *live = malloc(sizeof(uint32_t) * (p->nslots + 1));
  uint32_t *order = malloc(sizeof(uint32_t) * (p->nslots + 1));
  if (!live || !order) {
    free(live);
    free(order);
    return cg_fail(c, "out of memory");
  }
  for (uint32_t i = 0; i < p->nslots; i++) order[i] = i;
  insertion_sort_by_def(p, order);
  uint32_t nlive = 0;
  int64_t top = 0;
  for (uint32_t oi = 0; oi < p->nslots; oi++) {
    uint32_t i = order[oi];
    slot *s = &p->slots[i];
    if (s->kind != S_TEMP && s->kind != S_SCRATCH) continue;
    /* Drop buffers whose last reader ran before this one is written. */
    uint32_t k = 0;
    for (uint32_t j = 0; j < nlive; j++)
      if (p->slots[live[j]].last >= s->def) live[k++] = live[j];
    nlive = k;
    int64_t size = (s->bytes + 63) / 64 * 64, at = 0;
    /* live[] is kept sorted by offset: find the first gap that fits. */
    uint32_t pos = 0;
    for (; pos < nlive; pos++) {
      const slot *o = &p->slots[live[pos]];
      if (o->offset - at >= size) break;
      int64_t end = o->offset + (o->bytes + 63) / 64 * 64;
      if (end > at) at = end;
    }
    s->offset = at;
    memmove(live + pos + 1, live + pos, (nlive - pos) * sizeof *live);
    live[pos] = i;
    nlive++;
    if (at + size > top) top = at + size;
  }
  free(live);
  free(order);
  p->ws = top;
  return true;
}

/* ---- launches -------------------------------------------------------------- */

static bool plan_launch(cg_ctx *c, plan *p, ir_id id) {
  const ir_comp *e = p->e;
  const ir_inst *in = &e->insts[id];
  cg_kdesc d;
  memset(&d, 0, sizeof d);
  d.inst = in;
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
  if (ok) {
    d.in_ids = ins;
    d.in_shapes = ishapes;
    d.nout = nout;
    d.out_shapes = outs;
    ok = cg_kernel_emit(c, &d, &p->launch[id]);
  }
  if (ok) {
    p->has_launch[id] = true;
    if (p->launch[id].scratch > 0) {
      slot s;
      memset(&s, 0, sizeof s);
      s.kind = S_SCRATCH;
      s.inst = id;
      s.bytes = p->launch[id].scratch;
      s.def = s.last = id;
      p->scratch_slot[id] = add_slot(c, p, s);
      ok = !c->failed;
    }
  }
  free(outs);
  free(ins);
  free(ishapes);
  return ok;
}

/* ---- the entry function ------------------------------------------------------ */

typedef struct entry_state {
  LLVMValueRef fn, ws, *in, *out;
  LLVMBasicBlockRef ret;
  LLVMValueRef status_phi;
} entry_state;

static LLVMValueRef slot_ptr(cg_ctx *c, const plan *p, const entry_state *st, uint32_t si) {
  slot *s = &p->slots[resolve(p, si)];
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
  for (uint32_t k = 0, ni = 0; k < in->nops; k++) {
    bool dup = false;
    for (uint32_t q = 0; in->op != IR_OP_FUSION && q < k; q++) dup = dup || in->ops[q] == in->ops[k];
    if (dup) continue;
    pv[n++] = ni < 32 && (l->unused_in >> ni & 1) ? LLVMConstNull(c->t_ptr) : slot_ptr(c, p, st, slot_of(p, in->ops[k], 0));
    ni++;
  }
  pv[n++] = l->scratch > 0 ? slot_ptr(c, p, st, p->scratch_slot[id]) : LLVMConstNull(c->t_ptr);
  pv[n++] = l->aux[0] ? l->aux[0] : LLVMConstNull(c->t_ptr);
  pv[n++] = l->aux[1] ? l->aux[1] : LLVMConstNull(c->t_ptr);
  for (uint32_t k = 0; k < n; k++) {
    LLVMValueRef idx = cg_i64(c, k);
    LLVMBuildStore(c->b, pv[k], LLVMBuildGEP2(c->b, c->t_ptr, args, &idx, 1, ""));
  }
  if (pv != ptrs) free(pv);
  for (uint32_t q = 0; q < l->nphase; q++) {
    const cg_phase *ph = &l->ph[q];
    if (ph->n <= 0) continue;
    /* Parallel only when there is enough work to amortise waking threads:
     * ~64k operations in all and >= ~16k per chunk. */
    double total = ph->cost * (double)ph->n;
    if (!ph->serial && ph->n > 1 && total >= 65536.0) {
      int64_t grain = (int64_t)(16384.0 / (ph->cost > 1 ? ph->cost : 1)) + 1;
      LLVMValueRef a[4] = {ph->task, args, cg_i64(c, ph->n), cg_i64(c, grain)};
      LLVMBuildCall2(c->b, c->t_pfor, c->fn_pfor, a, 4, "");
    } else {
      LLVMValueRef a[3] = {args, cg_i64(c, 0), cg_i64(c, ph->n)};
      LLVMBuildCall2(c->b, c->t_task, ph->task, a, 3, "");
    }
  }
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

/* kiln_NAME_SUFFIX, with the current level's attributes or, for functions
 * that must run on any x86-64 CPU, the baseline's. */
static LLVMValueRef exported_fn(cg_ctx *c, const char *suffix, LLVMTypeRef ty, bool baseline) {
  char name[256];
  snprintf(name, sizeof name, "kiln_%s_%s", c->o->name, suffix);
  LLVMValueRef fn = LLVMAddFunction(c->mod, name, ty);
  if (baseline) cg_fn_attrs_baseline(c, fn);
  else cg_fn_attrs(c, fn);
  return fn;
}

static LLVMValueRef exported(cg_ctx *c, const char *suffix, LLVMTypeRef ty) {
  return exported_fn(c, suffix, ty, false);
}

/* The run function of the current level: exported as kiln_NAME_run when
 * the module cannot check the CPU (fn_cpu_host NULL), else internal as
 * `name`, called by the exported one after the check (build_checked_run). */
static LLVMValueRef build_run(cg_ctx *c, plan *p, uint32_t nin, uint32_t nout, const char *name) {
  const ir_comp *e = p->e;
  LLVMTypeRef pt[3] = {c->t_ptr, c->t_ptr, c->t_ptr};
  LLVMTypeRef run_ty = LLVMFunctionType(c->t_i32, pt, 3, 0);
  LLVMValueRef fn;
  if (c->fn_cpu_host) {
    fn = LLVMAddFunction(c->mod, name, run_ty);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    cg_fn_attrs(c, fn);
    /* Never inlined into the check (the x86 inliner refuses anyway when
     * the features differ; this keeps it so for baseline levels too). */
    unsigned noinline = LLVMGetEnumAttributeKindForName("noinline", 8);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c->llc, noinline, 0));
  } else {
    fn = exported(c, "run", run_ty);
  }
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
  for (ir_id id = 0; id < e->ninsts && !c->failed; id++) {
    if (e->insts[id].op == IR_OP_CUSTOM_CALL) emit_custom_call(c, p, &st, id, args);
    else if (p->has_launch[id]) emit_launch(c, p, &st, id, args);
  }
  /* Outputs not written in place. */
  for (uint32_t j = 0; j < nout; j++) {
    uint32_t s = slot_of(p, root->ops[j], 0);
    if (p->slots[s].kind == S_OUTPUT && p->slots[s].index == j) continue;
    int64_t bytes = ir_shape_bytes(&root->tuple[j]);
    if (bytes == 0) continue;
    LLVMBuildMemCpy(c->b, st.out[j], 1, slot_ptr(c, p, &st, s), 1, cg_i64(c, bytes));
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
  free(st.in);
  free(st.out);
  return fn;
}

/* ---- the CPU check ------------------------------------------------------------ */

/* Functions that must run on any x86-64 CPU: exported, baseline attributes. */
static LLVMValueRef exported_baseline(cg_ctx *c, const char *suffix, LLVMTypeRef ty) {
  return exported_fn(c, suffix, ty, true);
}

/* In fn, at the builder: branches to on_level[l] for the best level this
 * CPU has (highest first), else to none. The host's features come from
 * the runtime (cpuid once per process and artifact, cached). */
static void select_level(cg_ctx *c, LLVMValueRef fn, LLVMBasicBlockRef *on_level, LLVMBasicBlockRef none) {
  LLVMValueRef have = LLVMBuildCall2(c->b, LLVMGlobalGetValueType(c->fn_cpu_host), c->fn_cpu_host, NULL, 0, "have");
  for (int l = c->nlevels - 1; l >= 0; l--) {
    LLVMValueRef need = LLVMConstInt(c->t_i64, c->levels[l].need.need, 0);
    LLVMValueRef ok = LLVMBuildICmp(c->b, LLVMIntEQ, LLVMBuildAnd(c->b, have, need, ""), need, "");
    LLVMBasicBlockRef next = l ? LLVMAppendBasicBlockInContext(c->llc, fn, "next") : none;
    LLVMBuildCondBr(c->b, ok, on_level[l], next);
    if (l) LLVMPositionBuilderAtEnd(c->b, next);
  }
}

/* kiln_NAME_run: checks the CPU, then calls the run function of the best
 * level it has, or returns KILN_ARTIFACT_ERR_CPU without running anything
 * built for more than the x86-64 baseline. */
static LLVMValueRef build_checked_run(cg_ctx *c, LLVMValueRef *impl) {
  LLVMTypeRef pt[3] = {c->t_ptr, c->t_ptr, c->t_ptr};
  LLVMTypeRef ty = LLVMFunctionType(c->t_i32, pt, 3, 0);
  LLVMValueRef fn = exported_baseline(c, "run", ty);
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c->llc, fn, "entry");
  LLVMBasicBlockRef on[3], none = LLVMAppendBasicBlockInContext(c->llc, fn, "cpu_lacks_features");
  LLVMValueRef args[3] = {LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), LLVMGetParam(fn, 2)};
  for (int l = 0; l < c->nlevels; l++) {
    on[l] = LLVMAppendBasicBlockInContext(c->llc, fn, "level");
    LLVMPositionBuilderAtEnd(c->b, on[l]);
    LLVMBuildRet(c->b, LLVMBuildCall2(c->b, ty, impl[l], args, 3, ""));
  }
  LLVMPositionBuilderAtEnd(c->b, none);
  LLVMBuildRet(c->b, cg_i32(c, KILN_ARTIFACT_ERR_CPU));
  LLVMPositionBuilderAtEnd(c->b, entry);
  select_level(c, fn, on, none);
  return fn;
}

/* ---- metadata ---------------------------------------------------------------- */

static LLVMValueRef private_const(cg_ctx *c, LLVMValueRef init, const char *name) {
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return g;
}

static LLVMValueRef cstring(cg_ctx *c, const char *s) {
  LLVMValueRef g = private_const(c, LLVMConstStringInContext2(c->llc, s, strlen(s), 0), "kiln.str");
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return g;
}

static LLVMValueRef tensor_desc(cg_ctx *c, LLVMTypeRef tt, const char *name, const ir_shape *s) {
  LLVMValueRef dims[IR_MAX_RANK], m2m[IR_MAX_RANK];
  for (int i = 0; i < s->rank; i++) {
    dims[i] = cg_i64(c, s->dims[i]);
    m2m[i] = cg_i32(c, s->minor_to_major[i]);
  }
  LLVMValueRef dg = s->rank ? private_const(c, LLVMConstArray2(c->t_i64, dims, (uint64_t)s->rank), "kiln.dims")
                            : LLVMConstNull(c->t_ptr);
  LLVMValueRef mg = s->rank ? private_const(c, LLVMConstArray2(c->t_i32, m2m, (uint64_t)s->rank), "kiln.layout")
                            : LLVMConstNull(c->t_ptr);
  LLVMValueRef f[6] = {cstring(c, name), cg_i32(c, (int32_t)s->type), cg_i32(c, s->rank), dg, mg,
                       cg_i64(c, ir_shape_bytes(s))};
  return LLVMConstNamedStruct(tt, f, 6);
}

static void build_metadata(cg_ctx *c, const ir_comp *e, int64_t ws, LLVMValueRef run, uint32_t nin, uint32_t nout) {
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
  LLVMValueRef ig = nin ? private_const(c, LLVMConstArray2(tt, ti, nin), "kiln.inputs") : LLVMConstNull(c->t_ptr);
  LLVMValueRef og = nout ? private_const(c, LLVMConstArray2(tt, to, nout), "kiln.outputs") : LLVMConstNull(c->t_ptr);
  free(ti);
  free(to);

  /* int32 set_num_threads / num_threads wrappers around the runtime. */
  LLVMTypeRef st_ty = LLVMFunctionType(c->t_void, &c->t_i32, 1, 0), nt_ty = LLVMFunctionType(c->t_i32, NULL, 0, 0);
  LLVMValueRef setf = exported_baseline(c, "set_num_threads", st_ty);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, setf, "entry"));
  LLVMValueRef a0 = LLVMGetParam(setf, 0);
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(c->fn_set_threads), c->fn_set_threads, &a0, 1, "");
  LLVMBuildRetVoid(c->b);
  LLVMValueRef numf = exported_baseline(c, "num_threads", nt_ty);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, numf, "entry"));
  LLVMBuildRet(c->b, LLVMBuildCall2(c->b, LLVMGlobalGetValueType(c->fn_num_threads), c->fn_num_threads, NULL, 0, ""));

  /* missing_features(buf, cap) and selected_cpu(): the check's answers,
   * for loaders (api/executable.c) and for programs using the ABI alone. */
  LLVMValueRef missf = NULL, self = NULL;
  if (c->fn_cpu_host) {
    LLVMTypeRef mt[2] = {c->t_ptr, c->t_i64};
    missf = exported_baseline(c, "missing_features", LLVMFunctionType(c->t_i64, mt, 2, 0));
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, missf, "entry"));
    LLVMValueRef have = LLVMBuildCall2(c->b, LLVMGlobalGetValueType(c->fn_cpu_host), c->fn_cpu_host, NULL, 0, "");
    LLVMValueRef ma[4] = {LLVMConstInt(c->t_i64, c->levels[0].need.need, 0), have, LLVMGetParam(missf, 0),
                          LLVMGetParam(missf, 1)};
    LLVMBuildRet(c->b, LLVMBuildCall2(c->b, LLVMGlobalGetValueType(c->fn_cpu_missing), c->fn_cpu_missing, ma, 4, ""));
    self = exported_baseline(c, "selected_cpu", LLVMFunctionType(c->t_ptr, NULL, 0, 0));
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c->llc, self, "entry");
    LLVMBasicBlockRef on[3], none = LLVMAppendBasicBlockInContext(c->llc, self, "none");
    for (int l = 0; l < c->nlevels; l++) {
      on[l] = LLVMAppendBasicBlockInContext(c->llc, self, "level");
      LLVMPositionBuilderAtEnd(c->b, on[l]);
      LLVMBuildRet(c->b, cstring(c, c->levels[l].cpu));
    }
    LLVMPositionBuilderAtEnd(c->b, none);
    LLVMBuildRet(c->b, LLVMConstNull(c->t_ptr));
    LLVMPositionBuilderAtEnd(c->b, entry);
    select_level(c, self, on, none);
  }
  /* What the code needs: on x86-64 the checked list of the lowest level;
   * elsewhere the feature string as given (recorded, not checked). */
  const char *needs = c->levels[0].need.x86 ? c->levels[0].need.text : c->levels[0].features;

  LLVMTypeRef df[18] = {c->t_i32, c->t_i32, c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr, c->t_i32, c->t_i32, c->t_ptr,
                        c->t_ptr, c->t_i64, c->t_i64, c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr};
  LLVMTypeRef dt = LLVMStructCreateNamed(c->llc, "kiln.desc");
  LLVMStructSetBody(dt, df, 18, 0);
  char producer[64];
  snprintf(producer, sizeof producer, "kiln %s", KILN_VERSION);
  LLVMValueRef dv[18] = {cg_i32(c, KILN_ARTIFACT_ABI_VERSION),
                         cg_i32(c, (int32_t)LLVMABISizeOfType(c->td, dt)),
                         cstring(c, c->o->name),
                         cstring(c, producer),
                         cstring(c, LLVMGetTarget(c->mod)),
                         cstring(c, c->portable ? CG_CPU_PORTABLE : c->levels[0].cpu),
                         cg_i32(c, (int32_t)nin),
                         cg_i32(c, (int32_t)nout),
                         ig,
                         og,
                         cg_i64(c, ws),
                         cg_i64(c, 64),
                         run,
                         setf,
                         numf,
                         cstring(c, needs ? needs : ""),
                         missf ? missf : LLVMConstNull(c->t_ptr),
                         self ? self : LLVMConstNull(c->t_ptr)};
  LLVMValueRef desc = private_const(c, LLVMConstNamedStruct(dt, dv, 18), "kiln.desc");

  LLVMTypeRef info_ty = LLVMFunctionType(c->t_ptr, NULL, 0, 0);
  LLVMValueRef named = exported_baseline(c, "info", info_ty);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, named, "entry"));
  LLVMBuildRet(c->b, desc);
  LLVMValueRef generic = LLVMAddFunction(c->mod, "kiln_artifact_info", info_ty);
  cg_fn_attrs_baseline(c, generic);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, generic, "entry"));
  LLVMBuildRet(c->b, desc);
  LLVMValueRef wsf = exported_baseline(c, "workspace_size", LLVMFunctionType(c->t_i64, NULL, 0, 0));
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, wsf, "entry"));
  LLVMBuildRet(c->b, cg_i64(c, ws));
}

/* The kernels, buffer plan and run function of the current level; the
 * run function in *run, the workspace it needs in *ws. */
static bool build_level(cg_ctx *c, const ir_comp *e, uint32_t nin, uint32_t nout, const char *run_name,
                        LLVMValueRef *run, int64_t *ws) {
  const ir_inst *root = &e->insts[e->root];
  plan p;
  memset(&p, 0, sizeof p);
  p.e = e;
  size_t n = e->ninsts ? e->ninsts : 1;
  p.first = calloc(n, sizeof *p.first);
  p.launch = calloc(n, sizeof *p.launch);
  p.has_launch = calloc(n, sizeof *p.has_launch);
  p.scratch_slot = calloc(n, sizeof *p.scratch_slot);
  bool ok = p.first && p.launch && p.has_launch && p.scratch_slot;
  if (!ok) cg_fail(c, "out of memory");
  if (ok) ok = make_slots(c, &p);
  if (ok) {
    liveness(&p);
    /* Outputs: written in place unless already taken or not produced here. */
    for (uint32_t j = 0; j < nout; j++) {
      slot *s = &p.slots[slot_of(&p, root->ops[j], 0)];
      if (s->kind == S_TEMP) {
        s->kind = S_OUTPUT;
        s->index = j;
      } else {
        s->last = e->ninsts; /* read by the copies at the end */
      }
    }
  }
  for (ir_id id = 0; ok && id < e->ninsts; id++) {
    const ir_inst *in = &e->insts[id];
    if (p.slots[p.first[id]].kind != S_TEMP && p.slots[p.first[id]].kind != S_OUTPUT) continue;
    if (in->op == IR_OP_CUSTOM_CALL) continue;
    ok = plan_launch(c, &p, id);
  }
  if (ok) ok = assign_buffers(c, &p);
  if (ok) {
    *run = build_run(c, &p, nin, nout, run_name);
    ok = !c->failed;
  }
  *ws = p.ws;
  free(p.slots);
  free(p.first);
  free(p.launch);
  free(p.has_launch);
  free(p.scratch_slot);
  return ok;
}

bool cg_build_module(cg_ctx *c, size_t *workspace_size) {
  const ir_comp *e = ir_module_entry(c->m);
  if (!e || e->root == IR_NONE) return cg_fail(c, "the module has no entry computation");
  const ir_inst *root = &e->insts[e->root];
  if (root->op != IR_OP_TUPLE) return cg_fail(c, "the entry computation's root must be a tuple");
  uint32_t nin = ir_comp_num_params(e), nout = root->nops;
  /* Every op the code generator cannot lower is reported at once. */
  int bad = 0;
  for (ir_id id = 0; id < e->ninsts; id++) {
    const ir_inst *in = &e->insts[id];
    if (in->op == IR_OP_CUSTOM_CALL && !valid_symbol(in->target)) {
      cg_fail(c, "%%%s: custom_call target \"%s\" cannot be a symbol name (letters, digits, '_', '.', '$')",
              in->name, in->target);
      bad++;
    }
  }
  if (bad) return false;

  /* One set of kernels and one run function per level (one level unless
   * portable), each generated with its own target attributes, vector width
   * and register tiles; constants (c->consts) are shared by all. */
  LLVMValueRef impl[3] = {NULL, NULL, NULL};
  int64_t ws = 0;
  bool ok = true;
  for (int l = 0; ok && l < c->nlevels; l++) {
    cg_set_level(c, l);
    for (uint32_t i = 0; i < c->nkfns; i++) free(c->kfns[i].key);
    c->nkfns = 0; /* kernels of another level have other attributes: never shared */
    memset(c->sort_fns, 0, sizeof c->sort_fns);
    char run_name[64];
    snprintf(run_name, sizeof run_name, "kiln.run.%s", c->levels[l].cpu);
    int64_t lws = 0;
    ok = build_level(c, e, nin, nout, run_name, &impl[l], &lws);
    if (lws > ws) ws = lws;
  }
  cg_set_level(c, 0);
  if (ok) {
    LLVMValueRef run = c->fn_cpu_host ? build_checked_run(c, impl) : impl[0];
    build_metadata(c, e, ws, run, nin, nout);
    ok = !c->failed;
  }
  *workspace_size = (size_t)ws;
  return ok;
}

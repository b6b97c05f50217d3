/*
 * Fusion (pass "fuse"): groups instructions of the entry computation into
 * `fusion` instructions; the code generator lowers each fused computation
 * to one kernel, so values inside a group never go through memory.
 *
 * Two phases, in the spirit of XLA's instruction fusion:
 *
 * 1. Output (epilogue) fusion. Each float dot or convolution (the "hero")
 *    grows a group over the elementwise instructions after it that have its
 *    shape: bias adds, activations (relu, clip, sigmoid/swish, gelu,
 *    hard-swish), residual adds. A user joins when it is elementwise with
 *    the hero's dims and type and its other operands do not depend on the
 *    group; the group kept is the largest prefix in which exactly one
 *    member is read from outside (the root). The code generator applies
 *    such an epilogue to each GEMM tile right after it is computed.
 *
 * 2. Loop and input fusion, consumers first: the instructions are walked
 *    from the last to the first; each one still needed outside the groups
 *    made so far roots a group (or is the root of its phase-1 group), and
 *    its producers are considered from the latest to the earliest. A
 *    producer joins when:
 *      - its op can be computed element by element (elementwise, data
 *        movement, iota, reduce, reduce_window; not dot, convolution, sort,
 *        scatter, custom calls, parameters or array constants, which stay
 *        in memory; scalar constants always join);
 *      - it is not expensive (transcendental, or a loop: reduce,
 *        reduce_window) while its elements would be computed more than once
 *        per element of the group (behind a broadcast or a window);
 *      - all its users are in the group, or it is elementwise or data
 *        movement, in which case it is duplicated: the group computes its
 *        own copy and the other users keep reading the original;
 *      - the group stays within MAX_MEMBERS instructions and MAX_INPUTS
 *        inputs.
 *    The operands of a hero are never fused into it.
 *
 * A group of one instruction is left as it is (the code generator treats
 * it as a fusion of one). Groups become fusions in the order they were
 * made (roots from last to first): a fused computation named after the
 * root, whose parameters are the group's inputs in order of first use;
 * the fusion instruction takes over the root's name. Instructions no
 * longer used disappear with the canonicalization after the pass.
 *
 * Every decision, taken or refused, is reported as a remark (with
 * ctx->remarks) naming the group's root, the producer and the reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

#define MAX_MEMBERS 256
#define MAX_INPUTS 24

typedef struct fgroup {
  ir_id root, hero;      /* hero: IR_NONE for loop and input fusions */
  ir_id *mem;            /* members, sorted by id once the group is final */
  uint32_t nmem, cap;
  bool has_reduce;
} fgroup;

typedef struct fuse {
  ir_module *m;
  ir_comp *e;
  pass_ctx *ctx;
  uint32_t n;
  uint32_t *ustart, *ulist;  /* users of each instruction (CSR) */
  fgroup *g;
  uint32_t ng, capg;
  int32_t *hero_of;          /* [n] phase-1 group of an instruction, -1 */
  int32_t *root_of;          /* [n] group rooted at an instruction, -1 */
  uint32_t **gof, *ngof;     /* [n] groups an instruction is a non-root member of */
  bool *alive;               /* [n] needed as a value of its own */
  uint32_t *stamp, gen;      /* stamp[i] == gen: i is a member of the group being built */
  uint32_t *cstamp;          /* cstamp[i] == gen: i is a pending candidate */
  uint32_t *dstamp;          /* dstamp[i] == gen: i is in the group as a duplicate */
  uint32_t *ostamp;          /* ostamp[i] == gen: i is computed while packing the hero's operand */
  uint32_t *vstamp, vgen;    /* visited marks of dependence searches */
  double *factor;            /* [n] computations per group element (valid for members) */
  bool oom;
} fuse;

static const ir_inst *inst(const fuse *f, ir_id id) { return &f->e->insts[id]; }

static bool push(fuse *f, fgroup *g, ir_id id) {
  if (g->nmem == g->cap) {
    uint32_t cap = g->cap ? g->cap * 2 : 8;
    ir_id *nm = realloc(g->mem, cap * sizeof *nm);
    if (!nm) return !(f->oom = true);
    g->mem = nm;
    g->cap = cap;
  }
  g->mem[g->nmem++] = id;
  return true;
}

static int cmp_id(const void *a, const void *b) {
  ir_id x = *(const ir_id *)a, y = *(const ir_id *)b;
  return x < y ? -1 : x > y;
}

static bool is_member(const fgroup *g, ir_id id) {
  return bsearch(&id, g->mem, g->nmem, sizeof *g->mem, cmp_id) != NULL;
}

/* ---- op classes ---------------------------------------------------------- */

static bool elementwise(const ir_inst *in) { return (ir_op_get(in->op)->flags & IR_F_ELEMENTWISE) != 0; }

static bool movement(ir_op op) {
  switch (op) {
    case IR_OP_BROADCAST: case IR_OP_RESHAPE: case IR_OP_TRANSPOSE: case IR_OP_SLICE: case IR_OP_CONCATENATE:
    case IR_OP_PAD: case IR_OP_REVERSE: case IR_OP_IOTA: case IR_OP_DYNAMIC_SLICE: case IR_OP_DYNAMIC_UPDATE_SLICE:
    case IR_OP_GATHER:
      return true;
    default: return false;
  }
}

static bool is_scalar_const(const ir_inst *in) {
  return in->op == IR_OP_CONSTANT && in->shape.type != IR_TUPLE && ir_shape_elements(&in->shape) == 1;
}

/* A reshape or copy the code generator turns into an alias of its operand
 * (no kernel of its own), so it never roots a group. */
static bool is_alias(const fuse *f, const ir_inst *in) {
  if (in->op != IR_OP_RESHAPE && in->op != IR_OP_COPY) return false;
  const ir_shape *x = &inst(f, in->ops[0])->shape;
  if (in->op == IR_OP_COPY) return ir_shape_equal(x, &in->shape);
  return ir_shape_has_default_layout(x) && ir_shape_has_default_layout(&in->shape);
}

static bool expensive(const ir_inst *in) {
  return (ir_op_get(in->op)->flags & IR_F_TRANSCENDENTAL) || in->op == IR_OP_REDUCE || in->op == IR_OP_REDUCE_WINDOW;
}

static bool is_hero_op(const ir_inst *in) {
  return (in->op == IR_OP_DOT || in->op == IR_OP_CONVOLUTION) && ir_type_is_float(in->shape.type);
}

/* How many times group member u computes each element of its operand p. */
static double reuse(const fuse *f, const ir_inst *u, ir_id p) {
  const ir_inst *pi = inst(f, p);
  if (u->op == IR_OP_REDUCE_WINDOW) {
    double taps = 1, strides = 1;
    for (int i = 0; i < u->a.window->rank; i++) {
      taps *= (double)u->a.window->d[i].size;
      strides *= (double)u->a.window->d[i].stride;
    }
    return taps / strides > 1 ? taps / strides : 1;
  }
  if (u->op == IR_OP_REDUCE || u->op == IR_OP_SLICE || u->op == IR_OP_DYNAMIC_SLICE) return 1;
  double ue = (double)ir_shape_elements(&u->shape), pe = (double)ir_shape_elements(&pi->shape);
  return pe > 0 && ue > pe ? ue / pe : 1;
}

/* ---- phase 1: output fusion --------------------------------------------- */

/* Whether `id` depends on a member of the group being built (members all
 * have ids >= lo). */
static bool depends(fuse *f, ir_id id, ir_id lo) {
  if (f->stamp[id] == f->gen) return true;
  if (id < lo || f->vstamp[id] == f->vgen) return false;
  f->vstamp[id] = f->vgen;
  const ir_inst *in = inst(f, id);
  for (uint32_t k = 0; k < in->nops; k++)
    if (depends(f, in->ops[k], lo)) return true;
  return false;
}

static bool epilogue_eligible(fuse *f, const ir_inst *hero, ir_id u, ir_id lo) {
  const ir_inst *ui = inst(f, u);
  if (f->stamp[u] == f->gen || f->hero_of[u] >= 0 || !elementwise(ui)) return false;
  if (ui->shape.type != hero->shape.type || !ir_shape_same_dims(&ui->shape, &hero->shape)) return false;
  for (uint32_t k = 0; k < ui->nops; k++) {
    ir_id o = ui->ops[k];
    if (f->stamp[o] == f->gen) continue;
    f->vgen++;
    if (depends(f, o, lo)) return false;
  }
  return true;
}

/* Members with a user outside the group (the entry's root counts). */
static uint32_t outside_readers(const fuse *f, const fgroup *g, ir_id *which) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < g->nmem; i++) {
    ir_id x = g->mem[i];
    bool out = x == f->e->root;
    for (uint32_t k = f->ustart[x]; k < f->ustart[x + 1] && !out; k++) out = f->stamp[f->ulist[k]] != f->gen;
    if (out) {
      n++;
      *which = x;
    }
  }
  return n;
}

static fgroup *new_group(fuse *f, ir_id root) {
  if (f->ng == f->capg) {
    uint32_t cap = f->capg ? f->capg * 2 : 32;
    fgroup *ng = realloc(f->g, cap * sizeof *ng);
    if (!ng) {
      f->oom = true;
      return NULL;
    }
    f->g = ng;
    f->capg = cap;
  }
  fgroup *g = &f->g[f->ng++];
  memset(g, 0, sizeof *g);
  g->root = root;
  g->hero = IR_NONE;
  return g;
}

static void output_fusion(fuse *f, ir_id h) {
  const ir_inst *hero = inst(f, h);
  f->gen++;
  fgroup tmp = {h, h, NULL, 0, 0, false};
  if (!push(f, &tmp, h)) return;
  f->stamp[h] = f->gen;
  uint32_t best = 1;
  ir_id best_root = h;
  for (;;) {
    /* The earliest eligible user of any member. */
    ir_id pick = IR_NONE;
    for (uint32_t i = 0; i < tmp.nmem; i++) {
      ir_id x = tmp.mem[i];
      for (uint32_t k = f->ustart[x]; k < f->ustart[x + 1]; k++) {
        ir_id u = f->ulist[k];
        if ((pick == IR_NONE || u < pick) && epilogue_eligible(f, hero, u, h)) pick = u;
      }
    }
    if (pick == IR_NONE || tmp.nmem >= MAX_MEMBERS) break;
    if (!push(f, &tmp, pick)) break;
    f->stamp[pick] = f->gen;
    ir_id r;
    if (outside_readers(f, &tmp, &r) == 1) {
      best = tmp.nmem;
      best_root = r;
    }
  }
  if (best > 1 && !f->oom) {
    fgroup *g = new_group(f, best_root);
    if (g) {
      int32_t gi = (int32_t)(f->ng - 1);
      g->hero = h;
      for (uint32_t i = 0; i < best; i++) {
        push(f, g, tmp.mem[i]);
        f->hero_of[tmp.mem[i]] = gi;
        if (tmp.mem[i] != h)
          pass_remark(f->ctx, "fuse: [%%%s] %%%s: fused into the epilogue of %%%s (elementwise, same shape)",
                      inst(f, best_root)->name, inst(f, tmp.mem[i])->name, hero->name);
      }
    }
  } else if (f->ustart[h + 1] > f->ustart[h]) {
    pass_remark(f->ctx, "fuse: %%%s: no epilogue (its users are not an elementwise chain of its shape with one result)",
                hero->name);
  }
  free(tmp.mem);
}

/* ---- phase 2: loop and input fusion -------------------------------------- */

/* Whether x is needed as a value of its own, given every group rooted
 * after it (all of its users' decisions are final). */
static bool needed(const fuse *f, ir_id x) {
  if (x == f->e->root) return true;
  for (uint32_t k = f->ustart[x]; k < f->ustart[x + 1]; k++) {
    ir_id u = f->ulist[k];
    if (f->alive[u] && (f->root_of[u] < 0 || !is_member(&f->g[f->root_of[u]], x))) return true;
    for (uint32_t q = 0; q < f->ngof[u]; q++) {
      const fgroup *g = &f->g[f->gof[u][q]];
      if (g->root != u && f->alive[g->root] && !is_member(g, x)) return true;
    }
  }
  return false;
}

static bool root_candidate(const fuse *f, const ir_inst *in) {
  switch (in->op) {
    case IR_OP_PARAMETER: case IR_OP_CONSTANT: case IR_OP_TUPLE: case IR_OP_GET_TUPLE_ELEMENT:
    case IR_OP_CUSTOM_CALL: case IR_OP_SORT: case IR_OP_SCATTER: case IR_OP_FUSION:
    case IR_OP_CONDITIONAL: case IR_OP_WHILE: /* control flow is never fused */
    case IR_OP_SET_SYMBOL: /* sets a size in the entry function, before any kernel that reads it */
    case IR_OP_ASSERT:     /* checked in the entry function */
      return false;
    default: return in->shape.type != IR_TUPLE && !is_alias(f, in);
  }
}

/* Number of distinct inputs the group would have with p added. */
static uint32_t inputs_with(const fuse *f, const fgroup *g, ir_id p) {
  uint32_t n = 0;
  ir_id seen[MAX_INPUTS + 8];
  for (uint32_t i = 0; i <= g->nmem; i++) {
    const ir_inst *in = inst(f, i < g->nmem ? g->mem[i] : p);
    for (uint32_t k = 0; k < in->nops; k++) {
      ir_id o = in->ops[k];
      if (o == p || f->stamp[o] == f->gen || is_scalar_const(inst(f, o))) continue;
      bool dup = false;
      for (uint32_t q = 0; q < n && !dup; q++) dup = seen[q] == o;
      if (dup) continue;
      if (n == MAX_INPUTS + 8) return n;
      seen[n++] = o;
    }
  }
  return n;
}

/* Whether operand k of a convolution is the input of a 1x1 convolution
 * without stride, padding or dilation (each input element then meets each
 * output feature once, in the kernel's packing of the input). */
static bool is_1x1_input(const ir_inst *hero, uint32_t k) {
  if (hero->op != IR_OP_CONVOLUTION || k != 0 || hero->nops != 2) return false;
  const ir_window *w = hero->a.window;
  for (int i = 0; i < w->rank; i++)
    if (w->d[i].size != 1 || w->d[i].stride != 1 || w->d[i].pad_lo || w->d[i].pad_hi || w->d[i].lhs_dilate != 1)
      return false;
  return true;
}

/* Multiply-adds of a 1x1 convolution: Cin/G terms per output element. */
static double conv_1x1_macs(const fuse *f, const ir_inst *hero) {
  const ir_shape *ks = &inst(f, hero->ops[1])->shape;
  return (double)ir_shape_elements(&hero->shape) * (double)ks->dims[hero->conv->k_in];
}

/* Whether the kernel of a convolution reads its operand k once per element
 * while packing it, so that an elementwise producer can be computed there
 * instead of in a kernel of its own (EfficientNet's squeeze-excitation
 * scale before the projection): the input of a 1x1 convolution without
 * stride, padding or dilation, big enough for the packed GEMM path. Where
 * that path starts is a fact of the target (gemm_min_macs of the target
 * description the API fills in from codegen); smaller products are
 * computed element by element and would recompute the operand for every
 * output feature. Other convolutions read each input element once per
 * tap, and their vector im2col wants the input in a buffer; a dot's
 * operands are packed by index arithmetic that costs more than it saves. */
static bool packs_operand(const fuse *f, const ir_inst *hero, uint32_t k) {
  return is_1x1_input(hero, k) && conv_1x1_macs(f, hero) >= pass_target(f->ctx)->gemm_min_macs;
}

static bool packed_operand(const fuse *f, const ir_inst *hero, ir_id p) {
  for (uint32_t k = 0; k < hero->nops; k++)
    if (hero->ops[k] == p && !packs_operand(f, hero, k)) return false;
  return true;
}

/* For the remark on a producer computed while packing the input of the 1x1
 * convolution hero: the size that made it a tiled GEMM, and the target's
 * threshold it was compared with. */
static const char *packs_why(const fuse *f, const ir_inst *hero, char *buf, size_t n) {
  const ir_target *t = pass_target(f->ctx);
  snprintf(buf, n, ": the convolution's %.0f multiply-adds reach the target's tiled-GEMM minimum of %.0f (cpu %s)",
           conv_1x1_macs(f, hero), t->gemm_min_macs, t->cpu);
  return buf;
}

/* Decides whether producer p joins group g; on yes, adds it. */
static void consider(fuse *f, fgroup *g, ir_id p) {
  const ir_inst *pi = inst(f, p);
  const char *root = inst(f, g->root)->name;
  /* Computations of p per group element: the most any member asks for. */
  double fac = 0;
  uint32_t outside = 0;
  bool into_hero = false, in_chain = false;
  for (uint32_t k = f->ustart[p]; k < f->ustart[p + 1]; k++) {
    ir_id u = f->ulist[k];
    /* A duplicated member's original stays and still reads p. */
    if (f->stamp[u] != f->gen || f->dstamp[u] == f->gen) outside++;
    if (f->stamp[u] != f->gen) continue;
    /* Into the hero: its packing reads each element once. */
    double r = u == g->hero ? 1.0 : f->factor[u] * reuse(f, inst(f, u), p);
    into_hero = into_hero || u == g->hero;
    in_chain = in_chain || f->ostamp[u] == f->gen;
    if (r > fac) fac = r;
  }
  if (p == f->e->root) outside++;
  const char *why = NULL;
  char small[320]; /* a reason with numbers in it */
  if (is_scalar_const(pi)) {
    /* always: a scalar constant costs nothing to repeat */
  } else if (pi->op == IR_OP_PARAMETER) {
    why = "a parameter: read from its buffer";
  } else if (pi->op == IR_OP_CONSTANT) {
    why = "an array constant: read from memory";
  } else if (pi->op == IR_OP_DOT || pi->op == IR_OP_CONVOLUTION) {
    why = f->hero_of[p] >= 0 ? "a dot/convolution with an epilogue of its own" : "a dot/convolution is fused only with its epilogue";
  } else if (f->hero_of[p] >= 0) {
    why = "the result of an output fusion";
  } else if (pi->shape.type == IR_TUPLE || !(elementwise(pi) || movement(pi->op) || pi->op == IR_OP_REDUCE ||
                                             pi->op == IR_OP_REDUCE_WINDOW)) {
    why = "its op needs a kernel of its own";
  } else if (into_hero && !packed_operand(f, inst(f, g->hero), p)) {
    const ir_inst *h = inst(f, g->hero);
    if (h->ops[0] == p && h->ops[1] != p && is_1x1_input(h, 0)) {
      const ir_target *t = pass_target(f->ctx);
      snprintf(small, sizeof small,
               "the 1x1 convolution's %.0f multiply-adds are below the target's tiled-GEMM minimum of %.0f (cpu %s): "
               "computed element by element, it would recompute the operand for every output feature",
               conv_1x1_macs(f, h), t->gemm_min_macs, t->cpu);
      why = small;
    } else {
      why = "not an operand its kernel reads once while packing (only a dot's operands and the input of a 1x1 "
            "convolution take producers)";
    }
  } else if (into_hero && (!elementwise(pi) || outside)) {
    why = outside ? "an operand of the convolution that is also read elsewhere"
                  : "an operand of the convolution: only elementwise producers are computed while packing it";
  } else if (in_chain && !(elementwise(pi) || pi->op == IR_OP_BROADCAST) ) {
    why = "feeds the convolution's packing, which takes only elementwise ops and broadcasts";
  } else if (expensive(pi) && fac > 1.0) {
    pass_remark(f->ctx, "fuse: [%%%s] %%%s: not fused (expensive %s would be computed %.3g times per element)", root,
                pi->name, ir_op_name(pi->op), fac);
    return;
  } else if (outside && !(elementwise(pi) || movement(pi->op))) {
    pass_remark(f->ctx, "fuse: [%%%s] %%%s: not fused (%u other users; a %s is too costly to duplicate)", root,
                pi->name, outside, ir_op_name(pi->op));
    return;
  } else if (g->nmem >= MAX_MEMBERS) {
    why = "the fusion is at its size limit";
  } else if (inputs_with(f, g, p) > MAX_INPUTS) {
    why = "the fusion would have too many inputs";
  }
  if (why) {
    pass_remark(f->ctx, "fuse: [%%%s] %%%s: not fused (%s)", root, pi->name, why);
    return;
  }
  if (!push(f, g, p)) return;
  f->stamp[p] = f->gen;
  if (outside) f->dstamp[p] = f->gen;
  if (into_hero || in_chain) f->ostamp[p] = f->gen;
  f->factor[p] = fac > 0 ? fac : 1;
  if (pi->op == IR_OP_REDUCE || pi->op == IR_OP_REDUCE_WINDOW) g->has_reduce = true;
  if (f->ctx->remarks && !is_scalar_const(pi)) {
    if (outside)
      pass_remark(f->ctx, "fuse: [%%%s] %%%s: duplicated (cheap %s; %u other users keep the original)", root,
                  pi->name, ir_op_name(pi->op), outside);
    else if (into_hero || in_chain)
      pass_remark(f->ctx, "fuse: [%%%s] %%%s: fused into the operand packing of %%%s (%s)%s", root, pi->name,
                  inst(f, g->hero)->name, ir_op_name(pi->op),
                  into_hero ? packs_why(f, inst(f, g->hero), small, sizeof small) : "");
    else
      pass_remark(f->ctx, "fuse: [%%%s] %%%s: fused (%s%s)", root, pi->name, ir_op_name(pi->op),
                  fac > 1 ? ", cheap enough to recompute" : ", read once");
  }
  for (uint32_t k = 0; k < pi->nops; k++) f->cstamp[pi->ops[k]] = f->gen;
}

static void form_group(fuse *f, ir_id x) {
  fgroup *g;
  bool hero = f->hero_of[x] >= 0;
  if (hero) {
    g = &f->g[f->hero_of[x]];
  } else {
    g = new_group(f, x);
    if (!g) return;
    if (!push(f, g, x)) return;
    /* A dot or convolution without an epilogue keeps its operands. */
    if (is_hero_op(inst(f, x))) g->hero = x;
    g->has_reduce = inst(f, x)->op == IR_OP_REDUCE || inst(f, x)->op == IR_OP_REDUCE_WINDOW;
  }
  uint32_t gi = (uint32_t)(g - f->g);
  f->gen++;
  for (uint32_t i = 0; i < g->nmem; i++) {
    f->stamp[g->mem[i]] = f->gen;
    f->factor[g->mem[i]] = 1;
  }
  ir_id lo = x;
  for (uint32_t i = 0; i < g->nmem; i++) {
    const ir_inst *in = inst(f, g->mem[i]);
    if (g->mem[i] < lo) lo = g->mem[i];
    for (uint32_t k = 0; k < in->nops; k++) f->cstamp[in->ops[k]] = f->gen;
  }
  /* Producers from the latest down: all of a producer's users in the group
   * are decided before it. */
  for (ir_id p = x; p-- > 0 && !f->oom;) {
    if (f->cstamp[p] != f->gen || f->stamp[p] == f->gen) continue;
    consider(f, g, p);
    g = &f->g[gi];
  }
  if (f->oom) return;
  qsort(g->mem, g->nmem, sizeof *g->mem, cmp_id);
  if (g->nmem < 2) {
    f->ng--; /* a group of one stays a plain instruction */
    free(g->mem);
    return;
  }
  f->root_of[x] = (int32_t)gi;
  for (uint32_t i = 0; i < g->nmem; i++) {
    ir_id y = g->mem[i];
    if (y == x) continue;
    uint32_t *ng = realloc(f->gof[y], (f->ngof[y] + 1) * sizeof *ng);
    if (!ng) {
      f->oom = true;
      return;
    }
    f->gof[y] = ng;
    ng[f->ngof[y]++] = gi;
  }
  if (g->hero == IR_NONE)
    pass_remark(f->ctx, "fuse: %%%s: %s fusion of %u instructions", inst(f, x)->name, g->has_reduce ? "input" : "loop",
                g->nmem);
  else if (g->hero == x)
    pass_remark(f->ctx, "fuse: %%%s: fusion of %u instructions (producers computed while packing its operands)",
                inst(f, x)->name, g->nmem);
  else
    pass_remark(f->ctx, "fuse: %%%s: output fusion of %u instructions around %%%s", inst(f, x)->name, g->nmem,
                inst(f, g->hero)->name);
}

/* ---- materialization -------------------------------------------------------- */

static const char *comp_name(fuse *f, const char *root) {
  char buf[256];
  snprintf(buf, sizeof buf, "fused.%s", root);
  for (int k = 1; ir_module_find_comp(f->m, buf) >= 0; k++) snprintf(buf, sizeof buf, "fused.%s.%d", root, k);
  return arena_strdup(&f->m->arena, buf);
}

static bool materialize(fuse *f, const fgroup *g) {
  ir_module *m = f->m;
  ir_comp *e = f->e;
  uint32_t n = f->n;
  uint32_t capext = g->nmem * 4 + 8;
  ir_id *ext = malloc(sizeof(ir_id) * capext), *map = malloc(sizeof(ir_id) * n);
  ir_id *ops = NULL;
  uint32_t next = 0, maxops = 1;
  bool ok = ext && map;
  for (uint32_t i = 0; ok && i < g->nmem; i++) {
    const ir_inst *in = &e->insts[g->mem[i]];
    if (in->nops > maxops) maxops = in->nops;
    for (uint32_t k = 0; k < in->nops; k++) {
      ir_id o = in->ops[k];
      if (o < n && is_member(g, o)) continue;
      bool dup = false;
      for (uint32_t q = 0; q < next && !dup; q++) dup = ext[q] == o;
      if (!dup) {
        if (next == capext) {
          ir_id *ne = realloc(ext, sizeof(ir_id) * capext * 2);
          if (!ne) {
            ok = false;
            break;
          }
          ext = ne;
          capext *= 2;
        }
        ext[next++] = o;
      }
    }
  }
  if (ok) ops = malloc(sizeof(ir_id) * maxops);
  ir_comp *fc = NULL;
  const char *rname = e->insts[g->root].name;
  if (ok && ops) fc = ir_comp_add(m, comp_name(f, rname), false);
  ok = ok && ops && fc;
  e = f->e = ir_module_entry(m);
  uint32_t fci = m->ncomps - 1;
  for (uint32_t k = 0; ok && k < next; k++) {
    ir_inst p;
    memset(&p, 0, sizeof p);
    p.op = IR_OP_PARAMETER;
    p.shape = e->insts[ext[k]].shape;
    p.index = k;
    p.name = ir_fresh_name(m, "param");
    ok = p.name && ir_comp_append(m, fc, &p) != IR_NONE;
  }
  for (uint32_t i = 0; ok && i < g->nmem; i++) {
    ir_id id = g->mem[i];
    ir_inst p = e->insts[id];
    for (uint32_t k = 0; k < p.nops; k++) {
      ir_id o = p.ops[k];
      if (o < n && is_member(g, o)) ops[k] = map[o];
      else
        for (uint32_t q = 0; q < next; q++)
          if (ext[q] == o) ops[k] = q; /* parameters are the first instructions */
    }
    p.ops = ops;
    p.name = ir_fresh_name(m, e->insts[id].name);
    if (p.op == IR_OP_CONSTANT) {
      p.data = arena_memdup(&m->arena, p.data, (size_t)ir_shape_bytes(&p.shape), 64);
      ok = p.data != NULL;
    }
    map[id] = ok ? ir_comp_append(m, fc, &p) : IR_NONE;
    ok = ok && map[id] != IR_NONE;
  }
  if (ok) {
    fc->root = map[g->root];
    /* The fusion takes over the root's name; the original (now dead) gets a
     * fresh one so names stay unique. */
    ir_inst fu;
    memset(&fu, 0, sizeof fu);
    fu.op = IR_OP_FUSION;
    fu.shape = e->insts[g->root].shape;
    fu.nops = next;
    fu.ops = ext;
    fu.fusion_kind = g->hero != IR_NONE ? IR_FUSION_OUTPUT : g->has_reduce ? IR_FUSION_INPUT : IR_FUSION_LOOP;
    fu.called = fci;
    fu.loc = e->insts[g->root].loc;
    fu.name = rname;
    const char *fresh = ir_fresh_name(m, rname);
    ok = fresh != NULL;
    if (ok) {
      e->insts[g->root].name = fresh;
      ir_id fid = ir_comp_append(m, e, &fu);
      ok = fid != IR_NONE;
      if (ok) ir_replace_uses(e, g->root, fid);
    }
  }
  free(ext);
  free(map);
  free(ops);
  return ok;
}

/* ---- driver ------------------------------------------------------------------ */

/* Whether operand k is the first read of its value by `in`. */
static bool first_read(const ir_inst *in, uint32_t k) {
  for (uint32_t q = 0; q < k; q++)
    if (in->ops[q] == in->ops[k]) return false;
  return true;
}

static void fuse_free(fuse *f) {
  for (uint32_t i = 0; i < f->ng; i++) free(f->g[i].mem);
  if (f->gof)
    for (uint32_t i = 0; i < f->n; i++) free(f->gof[i]);
  free(f->g), free(f->gof), free(f->ngof), free(f->ustart), free(f->ulist), free(f->hero_of), free(f->root_of);
  free(f->alive), free(f->stamp), free(f->cstamp), free(f->dstamp), free(f->ostamp), free(f->vstamp), free(f->factor);
}

bool pass_fuse(ir_module *m, pass_ctx *ctx) {
  ir_comp *e = ir_module_entry(m);
  if (!e || e->root == IR_NONE || e->ninsts == 0) return false;
  fuse f;
  memset(&f, 0, sizeof f);
  f.m = m;
  f.e = e;
  f.ctx = ctx;
  uint32_t n = f.n = e->ninsts;
  size_t nu = 0;
  for (uint32_t i = 0; i < n; i++) nu += e->insts[i].nops;
  f.ustart = calloc(n + 1, sizeof *f.ustart);
  f.ulist = malloc((nu + 1) * sizeof *f.ulist);
  f.hero_of = malloc(n * sizeof *f.hero_of);
  f.root_of = malloc(n * sizeof *f.root_of);
  f.gof = calloc(n, sizeof *f.gof);
  f.ngof = calloc(n, sizeof *f.ngof);
  f.alive = calloc(n, sizeof *f.alive);
  f.stamp = calloc(n, sizeof *f.stamp);
  f.cstamp = calloc(n, sizeof *f.cstamp);
  f.dstamp = calloc(n, sizeof *f.dstamp);
  f.ostamp = calloc(n, sizeof *f.ostamp);
  f.vstamp = calloc(n, sizeof *f.vstamp);
  f.factor = calloc(n, sizeof *f.factor);
  bool changed = false;
  if (!f.ustart || !f.ulist || !f.hero_of || !f.root_of || !f.gof || !f.ngof || !f.alive || !f.stamp || !f.cstamp ||
      !f.dstamp || !f.ostamp || !f.vstamp || !f.factor) {
    f.oom = true;
    goto done;
  }
  /* Users, each listed once per instruction even when it reads it twice. */
  for (uint32_t i = 0; i < n; i++) {
    f.hero_of[i] = f.root_of[i] = -1;
    const ir_inst *in = &e->insts[i];
    for (uint32_t k = 0; k < in->nops; k++)
      if (first_read(in, k)) f.ustart[in->ops[k] + 1]++;
  }
  for (uint32_t i = 0; i < n; i++) f.ustart[i + 1] += f.ustart[i];
  {
    uint32_t *fill = calloc(n + 1, sizeof *fill);
    if (!fill) {
      f.oom = true;
      goto done;
    }
    for (uint32_t i = 0; i < n; i++) {
      const ir_inst *in = &e->insts[i];
      for (uint32_t k = 0; k < in->nops; k++)
        if (first_read(in, k)) f.ulist[f.ustart[in->ops[k]] + fill[in->ops[k]]++] = i;
    }
    free(fill);
  }
  for (ir_id h = 0; h < n && !f.oom; h++)
    if (is_hero_op(&e->insts[h]) && f.hero_of[h] < 0) output_fusion(&f, h);
  for (ir_id x = n; x-- > 0 && !f.oom;) {
    f.alive[x] = needed(&f, x);
    if (!f.alive[x]) continue;
    if (f.hero_of[x] >= 0) {
      if (f.g[f.hero_of[x]].root == x) form_group(&f, x);
      continue;
    }
    if (root_candidate(&f, &e->insts[x])) form_group(&f, x);
  }
  /* The groups kept, in the order phase 2 made them (by decreasing root;
   * phase-1 groups were created earlier, as seeds). */
  for (ir_id x = n; x-- > 0 && !f.oom;) {
    if (f.root_of[x] < 0) continue;
    if (!materialize(&f, &f.g[f.root_of[x]])) f.oom = true;
    changed = true;
  }
done:
  if (f.oom) {
    ctx->failed = ctx->oom = true;
    diag_error(ctx->d, "fuse: out of memory");
  }
  fuse_free(&f);
  return changed;
}

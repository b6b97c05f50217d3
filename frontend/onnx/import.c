/*
 * ONNX graph import: model checks, inputs and initializers, a pre-pass that
 * reports every unsupported or dangling construct at once, lowering of the
 * nodes in topological order, import-time folding of small constant values,
 * and the outputs.
 *
 * Invariant while lowering: every name in `values` maps to an instruction
 * of the entry computation whose shape is the ONNX value's shape, or, for
 * a sequence or optional, to a box id (ox.h, ops_sequence.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "ir/eval.h"
#include "ir/namemap.h"
#include "ir/symbolic.h"
#include "kiln/kiln.h"

/* Largest constant (in elements) folded automatically during import. */
#define OX_FOLD_LIMIT 65536
/* Largest value (in bytes) evaluated at import time for a value that must
 * be known then (a shape, axes, ...): a bound on what a malformed model can
 * make the importer allocate. */
#define OX_EVAL_LIMIT ((int64_t)1 << 30)

/* Names -> values: an ir_namemap whose keys are the model's own strings. */
static ir_id vm_get(const ir_namemap *m, const char *k) { return ir_namemap_get(m, k, strlen(k)); }

/* ---- messages ---- */

const char *ox_node_name(const ox_node *n, char *buf, size_t len) {
  if (n->p->name && n->p->name[0]) snprintf(buf, len, "'%s'", n->p->name);
  else if (n->p->n_output && n->p->output[0][0]) snprintf(buf, len, "#%d (output '%s')", n->index, n->p->output[0]);
  else snprintf(buf, len, "#%d", n->index);
  return buf;
}

/* ox_error and ox_unsupported: the message, prefixed with the node. */
static void report(ox_ctx *cx, const ox_node *n, const char *fmt, va_list ap) {
  char msg[1536], nm[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  cx->errors++;
  if (!n) {
    diag_error(cx->d, "%s", msg);
    return;
  }
  const char *dom = n->p->domain && n->p->domain[0] ? n->p->domain : NULL;
  diag_error(cx->d, "node %s (%s%s%s, opset %d): %s", ox_node_name(n, nm, sizeof nm), dom ? dom : "", dom ? "." : "",
             n->p->op_type ? n->p->op_type : "?", n->opset, msg);
}

bool ox_error(ox_ctx *cx, const ox_node *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(cx, n, fmt, ap);
  va_end(ap);
  return false;
}

bool ox_unsupported(ox_ctx *cx, const ox_node *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(cx, n, fmt, ap);
  va_end(ap);
  cx->unsupported = true;
  return false;
}

/* ---- import-time constants ---- */

static bool sync_const(ox_ctx *cx) {
  uint32_t n = cx->c->ninsts;
  if (n > cx->capconst) {
    uint32_t cap = cx->capconst ? cx->capconst : 256;
    while (cap < n) cap *= 2;
    uint8_t *f = realloc(cx->is_const, cap);
    if (!f) return false;
    cx->is_const = f;
    void **dd = realloc(cx->const_data, cap * sizeof *dd);
    if (!dd) return false;
    cx->const_data = dd;
    cx->capconst = cap;
  }
  for (uint32_t i = cx->nconst; i < n; i++) {
    const ir_inst *in = ir_get(cx->c, i);
    /* A value of symbolic shape has no one content (its size is the
     * binding's): never known at import time, even when built from
     * constants (ConstantOfShape of a symbolic shape). */
    bool k = in->op != IR_OP_PARAMETER && in->op != IR_OP_CUSTOM_CALL && in->op != IR_OP_FUSION &&
             in->shape.type != IR_TUPLE && in->op != IR_OP_GET_TUPLE_ELEMENT && !ox_is_symbolic(&in->shape);
    for (uint32_t j = 0; k && j < in->nops; j++) k = cx->is_const[in->ops[j]];
    cx->is_const[i] = k;
    cx->const_data[i] = in->op == IR_OP_CONSTANT ? in->data : NULL;
  }
  cx->nconst = n;
  return true;
}

bool ox_is_const(ox_ctx *cx, ir_id v) {
  if (v == IR_NONE || ox_is_box(v) || !sync_const(cx)) return false;
  return cx->is_const[v];
}

/* Evaluates v (known at import time) and everything it needs, operands
 * first: ids are topologically ordered, so increasing id order works. */
static const void *eval_const(ox_ctx *cx, ir_id v) {
  if (cx->const_data[v]) return cx->const_data[v];
  uint32_t *stack = malloc((v + 1) * sizeof *stack);
  uint8_t *need = calloc(v + 1, 1);
  bool ok = stack && need;
  uint32_t sp = 0;
  if (ok) {
    stack[sp++] = v;
    need[v] = 1;
  }
  while (ok && sp) {
    const ir_inst *in = ir_get(cx->c, stack[--sp]);
    for (uint32_t j = 0; j < in->nops; j++) {
      ir_id o = in->ops[j];
      if (!need[o] && !cx->const_data[o]) {
        need[o] = 1;
        stack[sp++] = o;
      }
    }
  }
  for (uint32_t i = 0; ok && i <= v; i++) {
    if (!need[i] || cx->const_data[i]) continue;
    const ir_inst *in = ir_get(cx->c, i);
    const void *ops[OX_MAX_IO];
    if (in->nops > OX_MAX_IO) {
      ok = false;
      break;
    }
    for (uint32_t j = 0; j < in->nops; j++) ops[j] = cx->const_data[in->ops[j]];
    int64_t bytes = ir_shape_bytes(&in->shape);
    if (bytes < 0 || bytes > OX_EVAL_LIMIT) {
      char b[200];
      diag_error(cx->d, "computing a value at compile time needs %s (%s); kiln evaluates at most %lld bytes per value",
                 in->name, ir_shape_str(&in->shape, b, sizeof b), (long long)OX_EVAL_LIMIT);
      ok = false;
      break;
    }
    void *res = arena_alloc(&cx->m->arena, (size_t)(bytes > 0 ? bytes : 1), 64);
    if (!res || !ir_eval_inst(cx->m, cx->c, i, ops, res, cx->d)) ok = false;
    else cx->const_data[i] = res;
  }
  free(stack);
  free(need);
  return ok ? cx->const_data[v] : NULL;
}

/* The graph inputs whose values v reads, walking its operands back
 * (operands have smaller ids than their users: the builder appends);
 * constants and get_dimension_size (a dimension's size is not the
 * input's data; *dims, when given, says one was met) end a path. Names
 * go to names[0..len) as 'a', 'b' (names may be NULL). True when some
 * input's values are read (or on out of memory: the caller then takes the
 * path that needs the values known). */
static bool input_walk(ox_ctx *cx, ir_id v, char *names, size_t len, bool *dims) {
  if (dims) *dims = false;
  if (v == IR_NONE || ox_is_box(v) || v >= cx->c->ninsts) return false;
  uint8_t *seen = calloc((size_t)v + 1, 1);
  if (!seen) return true;
  bool data = false;
  seen[v] = 1;
  for (ir_id i = v + 1; i-- > 0;) {
    if (!seen[i] || ox_is_const(cx, i)) continue;
    const ir_inst *in = ir_get(cx->c, i);
    if (in->op == IR_OP_GET_DIMENSION_SIZE) {
      if (dims) *dims = true;
      continue;
    }
    if (in->op == IR_OP_PARAMETER) {
      data = true;
      char q[300];
      snprintf(q, sizeof q, "'%s'", in->io_name ? in->io_name : "?");
      size_t k = names ? strlen(names) : 0;
      if (names && in->io_name && !strstr(names, q) && k + strlen(q) + 3 < len)
        snprintf(names + k, len - k, "%s%s", k ? ", " : "", q);
      continue;
    }
    for (uint32_t j = 0; j < in->nops; j++)
      if (in->ops[j] <= v) seen[in->ops[j]] = 1;
  }
  free(seen);
  return data;
}

bool ox_reads_data(ox_ctx *cx, ir_id v, char *names, size_t len) { return input_walk(cx, v, names, len, NULL); }

const void *ox_const_data(ox_ctx *cx, const ox_node *n, ir_id v, const char *what) {
  if (v == IR_NONE) {
    ox_error(cx, n, "%s is missing", what);
    return NULL;
  }
  if (!ox_is_const(cx, v) && v >= cx->nconst) {
    /* sync_const could not grow its tables: not a property of the model. */
    ox_error(cx, n, "out of memory while evaluating %s at compile time", what);
    return NULL;
  }
  if (!ox_is_const(cx, v)) {
    /* Name the graph inputs it depends on: freezing them makes it known.
     * (kiln test-onnx looks for "must be known at compile time".) */
    char inputs[512] = "";
    bool dims; /* it reads symbolic dimensions (get_dimension_size): freezing would not help */
    input_walk(cx, v, inputs, sizeof inputs, &dims);
    size_t len = strlen(inputs);
    if (!len && dims)
      ox_unsupported(cx, n, "%s must be known at compile time, but it is computed from symbolic dimensions, which this "
                     "op does not take as dimension expressions; fix the shapes with --input-shape", what);
    else if (len)
      ox_error(cx, n, "%s must be known at compile time, but it depends on graph input %s; freeze the input to a value "
               "(kiln import --input-value NAME=FILE.npy) or make it an initializer", what, inputs);
    else
      ox_error(cx, n, "%s must be known at compile time (a constant, an initializer, or computed from shapes only)", what);
    return NULL;
  }
  const void *d = eval_const(cx, v);
  if (!d) ox_error(cx, n, "could not evaluate %s at compile time", what);
  return d;
}

/* Replaces a small constant value computed by node n with a literal, so
 * shape-computing subgraphs leave no trace in the IR. */
static ir_id fold_output(ox_ctx *cx, ir_id v) {
  if (!ox_is_const(cx, v)) return v;
  const ir_inst *in = ir_get(cx->c, v);
  if (in->op == IR_OP_CONSTANT || ir_shape_elements(&in->shape) > OX_FOLD_LIMIT) return v;
  const void *data = eval_const(cx, v);
  if (!data) return IR_NONE;
  ir_id k = ir_constant(&cx->b, ir_get(cx->c, v)->shape, data);
  if (k != IR_NONE && sync_const(cx)) cx->const_data[k] = ir_get(cx->c, k)->data;
  return k;
}

/* ---- graph inputs ---- */

static const onnx_binding *find_in(const onnx_binding *list, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(list[i].name, name)) return &list[i];
  return NULL;
}

static const onnx_binding *find_binding(const onnx_options *o, const char *name) {
  return o ? find_in(o->bindings, o->nbindings, name) : NULL;
}

/* The --max-shape bound of graph input `name`, or NULL. */
static const onnx_binding *find_bound(const onnx_options *o, const char *name) {
  return o ? find_in(o->bounds, o->nbounds, name) : NULL;
}

const onnx_binding *ox_output_bound(ox_ctx *cx, const char *name) {
  const onnx_binding *b = find_bound(cx->opts, name);
  if (b && cx->bound_used) cx->bound_used[b - cx->opts->bounds] = true;
  return b;
}

/* The position of the main graph's node whose outputs include `name`, or
 * -1. */
static int producer_of(const Onnx__GraphProto *g, const char *name) {
  for (size_t i = 0; i < g->n_node; i++)
    for (size_t j = 0; j < g->node[i]->n_output; j++)
      if (!strcmp(g->node[i]->output[j], name)) return (int)i;
  return -1;
}

/* The tensor type of graph input vi, or NULL after reporting that it is
 * not a tensor. */
static const Onnx__TypeProto__Tensor *tensor_type(ox_ctx *cx, const Onnx__ValueInfoProto *vi) {
  if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type) {
    const char *kind = "a map or another non-tensor type";
    if (vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE) kind = "a sequence";
    if (vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE) kind = "an optional";
    /* kiln's sequences and optionals exist only at import time (ops_sequence.c): one fed at run time would have
     * a length (or presence) and element shapes known only then, which needs dynamic shapes. */
    diag_error(cx->d, "graph input '%s' is %s; kiln supports only tensor graph inputs (sequences and optionals only "
               "as values built inside the model, whose lengths are known at import time)", vi->name, kind);
    return NULL;
  }
  return vi->type->tensor_type;
}

/* The dim_param of dimension dm, or NULL when it has none (an unknown
 * dimension, or a fixed one). */
static const char *dim_param(const Onnx__TensorShapeProto__Dimension *dm) {
  if (!dm || dm->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM || !dm->dim_param ||
      !dm->dim_param[0])
    return NULL;
  return dm->dim_param;
}

/* The IR symbol that symbolic dimension i of graph input `input` becomes:
 * its dim_param, else "<input>_<i>", as an identifier (any other character
 * becomes '_', a leading digit gets a '_' in front). The same dim_param in
 * several inputs gives the same symbol: one size known only at run time. */
static void symbol_name(const char *input, int i, const Onnx__TensorShapeProto__Dimension *dm, char *buf, size_t n) {
  char raw[160];
  const char *param = dim_param(dm);
  if (param) snprintf(raw, sizeof raw, "%s", param);
  else snprintf(raw, sizeof raw, "%s_%d", input, i);
  size_t k = 0;
  if (raw[0] >= '0' && raw[0] <= '9') buf[k++] = '_';
  for (const char *p = raw; *p && k + 1 < n; p++) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    buf[k++] = ok ? c : '_';
  }
  buf[k] = 0;
}

/* Which graph input before number `upto` first declared symbol `sym`, for
 * a message about two bounds of one symbol. */
static const char *symbol_owner(const Onnx__GraphProto *g, size_t upto, const char *sym, int64_t *bound,
                                const onnx_options *o) {
  for (size_t k = 0; k < upto; k++) {
    const Onnx__ValueInfoProto *vi = g->input[k];
    const onnx_binding *bd = vi->name ? find_bound(o, vi->name) : NULL;
    const Onnx__TensorShapeProto *sp = vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
                                               vi->type->tensor_type ? vi->type->tensor_type->shape : NULL;
    if (!bd) continue;
    for (int i = 0; i < bd->rank; i++) {
      const Onnx__TensorShapeProto__Dimension *dm = sp && i < (int)sp->n_dim ? sp->dim[i] : NULL;
      if (dm && dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) continue;
      char nm[200];
      symbol_name(vi->name, i, dm, nm, sizeof nm);
      if (!strcmp(nm, sym)) {
        *bound = bd->dims[i];
        return vi->name;
      }
    }
  }
  return NULL;
}

/* "NAME=AxBxC" with the fixed dimensions of the input and `sym` for each
 * symbolic one: the flags the message about an unbound input suggests. */
static void suggest_dims(const char *name, int rank, const int64_t *dims, const bool *symbolic, int64_t sym, char *buf,
                         size_t n) {
  size_t k = (size_t)snprintf(buf, n, "%s=", name);
  for (int i = 0; i < rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "x" : "", (long long)(symbolic[i] ? sym : dims[i]));
}

/* The shape of graph input number `idx` (vi): fixed dimensions as given,
 * bound ones (--input-shape) fixed to the binding, and the symbolic ones
 * (dim_param or unknown) made symbols bounded by --max-shape. */
static int input_shape(ox_ctx *cx, const Onnx__GraphProto *g, size_t idx, const Onnx__ValueInfoProto *vi,
                       const onnx_options *o, ir_shape *out) {
  const char *name = vi->name;
  const Onnx__TypeProto__Tensor *tt = tensor_type(cx, vi);
  if (!tt) return KILN_ERR_UNSUPPORTED;
  ir_type ty;
  if (!tt->has_elem_type || !ox_type_from_onnx(tt->elem_type, &ty)) {
    diag_error(cx->d, "graph input '%s': element type %s is not supported", name,
               tt->has_elem_type ? ox_onnx_type_name(tt->elem_type) : "(missing)");
    return KILN_ERR_UNSUPPORTED;
  }
  const onnx_binding *b = find_binding(o, name), *bd = find_bound(o, name);
  if (b && bd) {
    diag_error(cx->d, "graph input '%s' has both a fixed shape (--input-shape) and a bound (--max-shape); give one", name);
    return KILN_ERR_INVALID_ARGUMENT;
  }
  const onnx_binding *given = b ? b : bd;
  const Onnx__TensorShapeProto *sp = tt->shape;
  if (!sp && !given) {
    diag_error(cx->d, "graph input '%s' has no shape; give one with --input-shape %s=DIMS, or bound it with "
               "--max-shape %s=DIMS", name, name, name);
    return KILN_ERR_SHAPE;
  }
  int rank = sp ? (int)sp->n_dim : given->rank;
  if (rank > IR_MAX_RANK) {
    diag_error(cx->d, "graph input '%s': rank %d exceeds kiln's maximum of %d", name, rank, IR_MAX_RANK);
    return KILN_ERR_UNSUPPORTED;
  }
  if (given && given->rank != rank) {
    diag_error(cx->d, "graph input '%s' has rank %d, but the shape %s for it has rank %d", name, rank,
               b ? "bound (--input-shape)" : "bound (--max-shape)", given->rank);
    return KILN_ERR_SHAPE;
  }
  int64_t dims[IR_MAX_RANK];
  ir_dexpr syms[IR_MAX_RANK] = {0};
  bool symbolic[IR_MAX_RANK] = {0};
  int nsym = 0;
  for (int i = 0; i < rank; i++) {
    const Onnx__TensorShapeProto__Dimension *dm = sp ? sp->dim[i] : NULL;
    bool fixed = dm && dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    if (fixed && dm->dim_value < 0) {
      diag_error(cx->d, "graph input '%s': dimension %d is negative (%lld)", name, i, (long long)dm->dim_value);
      return KILN_ERR_PARSE;
    }
    if (fixed) {
      if (given && dm->dim_value != given->dims[i]) {
        diag_error(cx->d, "graph input '%s': dimension %d is %lld in the model but %s to %lld", name, i,
                   (long long)dm->dim_value, b ? "bound" : "bounded (--max-shape)", (long long)given->dims[i]);
        return KILN_ERR_SHAPE;
      }
      dims[i] = dm->dim_value;
    } else if (b) {
      dims[i] = b->dims[i];
    } else {
      symbolic[i] = true;
      nsym++;
      dims[i] = 1;
      if (!bd) continue; /* reported below, with every symbolic dimension of the input */
      char sym[200];
      symbol_name(name, i, dm, sym, sizeof sym);
      if (bd->dims[i] < 1) {
        diag_error(cx->d, "graph input '%s': dimension %d ('%s') is symbolic; its bound must be at least 1 (--max-shape "
                   "gives %lld)", name, i, sym, (long long)bd->dims[i]);
        return KILN_ERR_SHAPE;
      }
      int k = ir_sym_find(cx->m, sym);
      if (k >= 0 && ir_sym_bound(cx->m, k) != bd->dims[i]) {
        int64_t other = ir_sym_bound(cx->m, k);
        const char *owner = symbol_owner(g, idx, sym, &other, o);
        /* No earlier input declared it: an earlier dimension of this one did. */
        diag_error(cx->d, "symbolic dimension '%s' has two bounds: %lld from graph input '%s' (dimension %d) and %lld "
                   "from graph input '%s'; give it the same bound in every --max-shape entry", sym,
                   (long long)bd->dims[i], name, i, (long long)other, owner ? owner : name);
        return KILN_ERR_SHAPE;
      }
      syms[i] = ir_sym_declare(cx->m, sym, bd->dims[i]);
      if (!syms[i]) return KILN_ERR_OUT_OF_MEMORY;
      dims[i] = bd->dims[i];
    }
  }
  if (nsym && !bd) {
    /* Say exactly which flags fix it, with the model's fixed dimensions
     * filled in. */
    char which[400] = "", what[300] = "", maxs[300], fix[300];
    size_t k = 0, w = 0;
    int seen = 0;
    for (int i = 0; i < rank; i++) {
      if (!symbolic[i]) continue;
      const Onnx__TensorShapeProto__Dimension *dm = sp ? sp->dim[i] : NULL;
      const char *param = dim_param(dm);
      const char *sep = seen == 0 ? "" : seen == nsym - 1 ? " and " : ", ";
      if (k < sizeof which)
        k += (size_t)snprintf(which + k, sizeof which - k, "%s%d%s%s%s", sep, i, param ? " ('" : "", param ? param : "",
                              param ? "')" : "");
      if (w < sizeof what) w += (size_t)snprintf(what + w, sizeof what - w, "%s%s", sep, param ? param : "size");
      seen++;
    }
    suggest_dims(name, rank, dims, symbolic, 64, maxs, sizeof maxs);
    suggest_dims(name, rank, dims, symbolic, 1, fix, sizeof fix);
    diag_error(cx->d, "graph input '%s': dimension%s %s %s symbolic; bound %s with --max-shape %s (any %s up "
               "to 64) or fix %s with --input-shape %s", name, nsym > 1 ? "s" : "", which,
               nsym > 1 ? "are" : "is", nsym > 1 ? "them" : "it", maxs, what, nsym > 1 ? "them" : "it", fix);
    return KILN_ERR_SHAPE;
  }
  *out = ir_shape_make(ty, rank, dims);
  for (int i = 0; i < rank; i++)
    if (syms[i] && !ir_shape_set_dim(cx->m, out, i, syms[i])) {
      diag_error(cx->d, "graph input '%s': the bound %lld of dimension %d is too large", name, (long long)dims[i], i);
      return KILN_ERR_SHAPE;
    }
  /* The same limit as for initializers (tensor.c): 1 TiB, at the bounds. */
  int64_t bytes = ir_shape_bytes(out);
  if (bytes < 0 || bytes > ((int64_t)1 << 40)) {
    char buf[200];
    diag_error(cx->d, "graph input '%s': shape %s is too large (over 1 TiB)", name, ir_shape_str(out, buf, sizeof buf));
    return KILN_ERR_SHAPE;
  }
  return KILN_OK;
}

/* ---- inputs frozen to values ---- */

static const onnx_tensor *find_value(const onnx_options *o, const char *name) {
  for (int i = 0; o && i < o->nvalues; i++)
    if (o->values[i].name && !strcmp(o->values[i].name, name)) return &o->values[i];
  return NULL;
}

/* Makes graph input vi the constant fv after checking it against the
 * declared type and fixed dimensions. */
static int frozen_input(ox_ctx *cx, const Onnx__ValueInfoProto *vi, const onnx_tensor *fv, ir_namemap *values) {
  const char *name = vi->name;
  const Onnx__TypeProto__Tensor *tt = tensor_type(cx, vi);
  if (!tt) return KILN_ERR_UNSUPPORTED;
  ir_type ty;
  char buf[160];
  if (tt->has_elem_type && (!ox_type_from_onnx(tt->elem_type, &ty) || ty != fv->shape.type)) {
    diag_error(cx->d, "graph input '%s' is declared %s, but the value given for it is %s", name,
               ox_onnx_type_name(tt->elem_type), ir_shape_str(&fv->shape, buf, sizeof buf));
    return KILN_ERR_SHAPE;
  }
  const Onnx__TensorShapeProto *sp = tt->shape;
  bool fits = !sp || (int)sp->n_dim == fv->shape.rank;
  for (int i = 0; fits && sp && i < fv->shape.rank; i++) {
    const Onnx__TensorShapeProto__Dimension *dm = sp->dim[i];
    fits = dm->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || dm->dim_value == fv->shape.dims[i];
  }
  if (!fits) {
    diag_error(cx->d, "graph input '%s': the value given for it (%s) does not fit its declared shape", name,
               ir_shape_str(&fv->shape, buf, sizeof buf));
    return KILN_ERR_SHAPE;
  }
  ir_builder_set_loc(&cx->b, NULL, name);
  ir_id k = ir_constant(&cx->b, fv->shape, fv->data);
  if (k == IR_NONE || !ir_namemap_put(values, name, k)) return KILN_ERR_OUT_OF_MEMORY;
  return KILN_OK;
}

/* ---- node order ---- */

/* Orders nodes so each comes after the producers of its inputs. Reports
 * inputs that refer to nothing and cycles. Returns a malloc'd order. */
static int *topo_order(ox_ctx *cx, const Onnx__GraphProto *g, ir_namemap *defined, int *rc) {
  size_t n = g->n_node;
  int *order = malloc((n + 1) * sizeof *order);
  ir_namemap producer = {0};
  bool ok = order != NULL;
  for (size_t i = 0; ok && i < n; i++) {
    const Onnx__NodeProto *nd = g->node[i];
    for (size_t k = 0; k < nd->n_output; k++) {
      const char *o = nd->output[k];
      if (!o[0]) continue;
      if (vm_get(defined, o) != IR_NONE || vm_get(&producer, o) != IR_NONE) {
        diag_error(cx->d, "tensor name '%s' is defined twice (output of node #%zu '%s')", o, i, nd->name ? nd->name : "");
        *rc = KILN_ERR_PARSE;
        ok = false;
        break;
      }
      if (!ir_namemap_put(&producer, o, (ir_id)i)) ok = false;
    }
  }
  /* Every input must be defined somewhere. */
  size_t k = 0;
  if (ok) {
    for (size_t i = 0; i < n; i++) {
      const Onnx__NodeProto *nd = g->node[i];
      for (size_t j = 0; j < nd->n_input; j++) {
        const char *in = nd->input[j];
        if (!in[0] || vm_get(defined, in) != IR_NONE) continue;
        if (vm_get(&producer, in) == IR_NONE) {
          diag_error(cx->d, "node #%zu '%s' (%s): input '%s' refers to no graph input, initializer or node output", i,
                     nd->name ? nd->name : "", nd->op_type ? nd->op_type : "?", in);
          *rc = KILN_ERR_PARSE;
          ok = false;
        }
      }
    }
  }
  if (ok) {
    /* Repeated scans in the original order, each taking the nodes whose
     * inputs are ready: models are nearly always already sorted, which
     * makes this a single pass. */
    uint8_t *done = calloc(n + 1, 1);
    ir_namemap ready = {0};
    bool progress = true, oom = false; /* oom: not a cycle, a failed insertion into `ready` */
    while (done && !oom && progress && k < n) {
      progress = false;
      for (size_t i = 0; i < n; i++) {
        if (done[i]) continue;
        const Onnx__NodeProto *nd = g->node[i];
        bool can = true;
        for (size_t j = 0; can && j < nd->n_input; j++) {
          const char *in = nd->input[j];
          can = !in[0] || vm_get(defined, in) != IR_NONE || vm_get(&ready, in) != IR_NONE;
        }
        if (!can) continue;
        done[i] = 1;
        order[k++] = (int)i;
        progress = true;
        for (size_t j = 0; j < nd->n_output; j++)
          if (nd->output[j][0] && !ir_namemap_put(&ready, nd->output[j], 1)) oom = true;
      }
    }
    if (done && !oom && k < n) {
      for (size_t i = 0; i < n; i++)
        if (!done[i]) {
          diag_error(cx->d, "the graph has a cycle: node #%zu '%s' (%s) depends on its own output", i,
                     g->node[i]->name ? g->node[i]->name : "", g->node[i]->op_type ? g->node[i]->op_type : "?");
          break;
        }
      *rc = KILN_ERR_PARSE;
      ok = false;
    }
    if (!done || oom) ok = false;
    free(done);
    ir_namemap_free(&ready);
  }
  ir_namemap_free(&producer);
  if (!ok) {
    free(order);
    if (*rc == KILN_OK) *rc = KILN_ERR_OUT_OF_MEMORY;
    return NULL;
  }
  return order;
}

/* ---- the model ---- */

void ox_init_node(ox_ctx *cx, ox_node *on, const Onnx__NodeProto *nd, int index) {
  memset(on, 0, sizeof *on);
  on->p = nd;
  on->index = index;
  on->opset = cx->opset;
  on->nin = (int)(nd->n_input < OX_MAX_IO ? nd->n_input : OX_MAX_IO);
  on->nout = (int)(nd->n_output < OX_MAX_IO ? nd->n_output : OX_MAX_IO);
  for (int i = 0; i < OX_MAX_IO; i++) on->in[i] = on->out[i] = IR_NONE;
}

/* A newer version of an op may mean other semantics: it is refused naming
 * both versions rather than imported as the old one (declared in ox.h). */
bool ox_check_version(ox_ctx *cx, const ox_node *n, const ox_op *op) {
  const char *t = n->p->op_type;
  const ox_spec_op *s = ox_spec_find(t);
  int v = s ? ox_spec_version_at(s, n->opset) : 0;
  if (s && !v)
    return ox_error(cx, n, "operator %s does not exist at opset %d (it was added in opset %d)", t, n->opset,
                    s->versions[0]);
  if (!op) {
    if (!s) return ox_unsupported(cx, n, "operator %s is not supported (the ai.onnx domain has no such operator "
                                  "up to opset %d)", t, OX_MAX_OPSET);
    if (s->why == OX_WHY_NOT_YET) return ox_unsupported(cx, n, "operator %s is not supported", t);
    return ox_unsupported(cx, n, "operator %s is not supported (%s)", t, ox_why_text(s->why));
  }
  if (n->opset < op->min_opset)
    return ox_unsupported(cx, n, "kiln supports %s from opset %d", t, op->min_opset);
  int max = ox_op_max_version(op, s);
  if (s && v > max)
    return ox_unsupported(cx, n, "kiln implements %s up to version %d; this model's opset %d selects %s-%d", t, max,
                          n->opset, t, v);
  return true;
}

/* Pre-pass: every node's structure (check.c), domain, op and opset, and
 * the op's own checks. A malformed node makes the model a parse error even
 * when other nodes are merely unsupported. */
static int check_nodes(ox_ctx *cx, const Onnx__GraphProto *g) {
  int bad = 0;
  bool malformed = false;
  ir_namemap names = {0}; /* what subgraphs may read from this graph */
  if (!ox_graph_names(g, &names)) {
    ir_namemap_free(&names);
    return KILN_ERR_OUT_OF_MEMORY;
  }
  for (size_t i = 0; i < g->n_node; i++) {
    const Onnx__NodeProto *nd = g->node[i];
    ox_node on;
    ox_init_node(cx, &on, nd, (int)i);
    int before = cx->errors;
    if (!nd->op_type || !nd->op_type[0]) {
      ox_error(cx, &on, "node has no op_type");
      malformed = true;
      bad++;
      continue;
    }
    bool dflt = !nd->domain || !nd->domain[0] || !strcmp(nd->domain, "ai.onnx");
    const ox_op *op = dflt ? ox_find_op(nd->op_type) : NULL;
    if (!ox_check_domain(cx, &on)) malformed = true;
    if (!ox_check_node(cx, &on, op)) malformed = true;
    if (!ox_check_subgraphs(cx, &on, &names)) malformed = true;
    bool broken = cx->errors > before;
    if (nd->n_input > OX_MAX_IO || nd->n_output > OX_MAX_IO) {
      ox_error(cx, &on, "more than %d inputs or outputs are not supported", OX_MAX_IO);
    } else if (!dflt) {
      if (!broken) {
        ox_error(cx, &on, "operator domain '%s' is not supported (only the default ai.onnx domain is)", nd->domain);
      }
    } else if (!ox_check_version(cx, &on, op)) {
      /* reported */
    } else if (!broken && op->check) {
      op->check(cx, &on); /* it reads attributes: only on a well-formed node */
    }
    if (cx->errors > before) bad++;
  }
  ir_namemap_free(&names);
  if (!bad) return KILN_OK;
  diag_error(cx->d, "%d node%s of the model cannot be imported (listed above)", bad, bad == 1 ? "" : "s");
  return cx->out_of_memory ? KILN_ERR_OUT_OF_MEMORY : malformed ? KILN_ERR_PARSE : KILN_ERR_UNSUPPORTED;
}

static int output_check(ox_ctx *cx, const Onnx__ValueInfoProto *vi, ir_id v) {
  const ir_shape s_v = ox_shape(cx, v), *s = &s_v;
  if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type)
    return KILN_OK; /* no declared type: nothing to check */
  const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
  ir_type ty;
  if (tt->has_elem_type && tt->elem_type != 0) {
    if (!ox_type_from_onnx(tt->elem_type, &ty)) {
      diag_error(cx->d, "graph output '%s': element type %s is not supported", vi->name, ox_onnx_type_name(tt->elem_type));
      return KILN_ERR_UNSUPPORTED;
    }
    if (ty != s->type) {
      diag_error(cx->d, "graph output '%s' is declared %s but computes %s", vi->name, ir_type_name(ty),
                 ir_type_name(s->type));
      return KILN_ERR_SHAPE;
    }
  }
  const Onnx__TensorShapeProto *sp = tt->shape;
  if (!sp) return KILN_OK;
  char buf[160];
  if ((int)sp->n_dim != s->rank) {
    diag_error(cx->d, "graph output '%s' is declared with rank %zu but computes %s", vi->name, sp->n_dim,
               ir_shape_str(s, buf, sizeof buf));
    return KILN_ERR_SHAPE;
  }
  for (int i = 0; i < s->rank; i++) {
    const Onnx__TensorShapeProto__Dimension *dm = sp->dim[i];
    /* A symbolic dimension against a declared fixed one: exporters write
     * the size they traced with, which need not hold at every binding. */
    if (s->sym[i]) continue;
    if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dm->dim_value != s->dims[i]) {
      diag_error(cx->d, "graph output '%s': dimension %d is declared %lld but computes %s", vi->name, i,
                 (long long)dm->dim_value, ir_shape_str(s, buf, sizeof buf));
      return KILN_ERR_SHAPE;
    }
  }
  return KILN_OK;
}

static bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

static int import_graph(ox_ctx *cx, const Onnx__ModelProto *model, const onnx_options *o) {
  const Onnx__GraphProto *g = model->graph;
  ir_namemap values = {0};
  cx->values = &values; /* subgraphs read outer names through it (ops_control.c) */
  int rc = KILN_OK;
  int *order = NULL;
#define FAIL_RC(code)   \
  do {                  \
    rc = (code);        \
    goto done;          \
  } while (0)
  /* Every unsupported construct first, all at once. */
  rc = check_nodes(cx, g);
  if (rc != KILN_OK) goto done;
  /* Initializers become constants. */
  for (size_t i = 0; i < g->n_initializer; i++) {
    const Onnx__TensorProto *t = g->initializer[i];
    if (!t->name || !t->name[0]) {
      diag_error(cx->d, "initializer #%zu has no name", i);
      FAIL_RC(KILN_ERR_PARSE);
    }
    if (vm_get(&values, t->name) != IR_NONE) {
      diag_error(cx->d, "initializer '%s' is defined twice", t->name);
      FAIL_RC(KILN_ERR_PARSE);
    }
    char what[600];
    snprintf(what, sizeof what, "initializer '%s'", t->name);
    ir_shape s;
    void *data;
    int r = ox_tensor_data(t, cx->base_dir, what, &s, &data, cx->d);
    if (r != KILN_OK) FAIL_RC(r);
    ir_builder_set_loc(&cx->b, NULL, t->name);
    ir_id k = ir_constant(&cx->b, s, data);
    free(data);
    if (k == IR_NONE || !ir_namemap_put(&values, t->name, k)) FAIL_RC(KILN_ERR_OUT_OF_MEMORY);
  }
  if (g->n_sparse_initializer) {
    const Onnx__SparseTensorProto *sp = g->sparse_initializer[0];
    const char *nm = sp->values && sp->values->name ? sp->values->name : "";
    diag_error(cx->d, "sparse initializer '%s': sparse initializers are not supported", nm);
    FAIL_RC(KILN_ERR_UNSUPPORTED);
  }
  /* Before IR 4 every initializer had to be listed as a graph input too
   * (it was the input's default value). */
  for (size_t i = 0; model->ir_version < 4 && i < g->n_initializer; i++) {
    bool listed = false;
    for (size_t k = 0; k < g->n_input && !listed; k++)
      listed = g->input[k]->name && !strcmp(g->input[k]->name, g->initializer[i]->name);
    if (!listed) {
      diag_error(cx->d, "initializer '%s' is not a graph input; in IR version %lld (before 4) every initializer must "
                 "be listed among the graph inputs", g->initializer[i]->name, (long long)model->ir_version);
      FAIL_RC(KILN_ERR_PARSE);
    }
  }
  /* Graph inputs that are not initializers become parameters. */
  int64_t param = 0;
  for (size_t i = 0; i < g->n_input; i++) {
    const Onnx__ValueInfoProto *vi = g->input[i];
    if (!vi->name || !vi->name[0]) {
      diag_error(cx->d, "graph input #%zu has no name", i);
      FAIL_RC(KILN_ERR_PARSE);
    }
    ir_id existing = vm_get(&values, vi->name);
    if (existing != IR_NONE) {
      if (ir_get(cx->c, existing)->op == IR_OP_CONSTANT) { /* an initializer's default */
        ir_shape s = ox_shape(cx, existing);
        int r = ox_check_declared(cx, vi, &s, "graph input", "its initializer");
        if (r != KILN_OK) FAIL_RC(r);
        continue;
      }
      diag_error(cx->d, "graph input '%s' is listed twice", vi->name);
      FAIL_RC(KILN_ERR_PARSE);
    }
    ir_shape s;
    const onnx_tensor *fv = find_value(o, vi->name);
    if (fv) {
      int r = frozen_input(cx, vi, fv, &values);
      if (r != KILN_OK) FAIL_RC(r);
      continue;
    }
    int r = input_shape(cx, g, i, vi, o, &s);
    if (r != KILN_OK) {
      /* Keep going: report every input that needs a shape. An input kiln
       * cannot take at all (a sequence) decides the status: binding the
       * others' shapes would not make the model import. */
      if (rc != KILN_ERR_UNSUPPORTED) rc = r;
      continue;
    }
    ir_builder_set_loc(&cx->b, NULL, vi->name);
    ir_id p = ir_parameter(&cx->b, param++, s, vi->name);
    if (p == IR_NONE || !ir_namemap_put(&values, vi->name, p)) FAIL_RC(KILN_ERR_OUT_OF_MEMORY);
  }
  if (rc != KILN_OK) goto done;
  for (int i = 0; o && i < o->nvalues; i++) {
    bool found = false;
    for (size_t k = 0; k < g->n_input && !found; k++) found = g->input[k]->name && !strcmp(g->input[k]->name, o->values[i].name);
    if (!found) {
      diag_error(cx->d, "a value is given for '%s', which is not an input of the model", o->values[i].name);
      FAIL_RC(KILN_ERR_INVALID_ARGUMENT);
    }
  }
  for (int i = 0; o && i < o->nbindings; i++) {
    ir_id v = vm_get(&values, o->bindings[i].name);
    if (v == IR_NONE || ir_get(cx->c, v)->op != IR_OP_PARAMETER) {
      diag_error(cx->d, "--input-shape names '%s', which is not an input of the model", o->bindings[i].name);
      FAIL_RC(KILN_ERR_INVALID_ARGUMENT);
    }
  }
  /* A --max-shape entry may also name a node output whose size values
   * decide: whether a lowering takes it is known only once the nodes are
   * lowered (below); entries that name nothing are refused now, before a
   * lowering asks for the bound a misspelt entry meant to give. */
  if (o && o->nbounds && !(cx->bound_used = calloc((size_t)o->nbounds, sizeof *cx->bound_used)))
    FAIL_RC(KILN_ERR_OUT_OF_MEMORY);
  for (int i = 0; o && i < o->nbounds; i++) {
    ir_id v = vm_get(&values, o->bounds[i].name);
    if (v == IR_NONE && producer_of(g, o->bounds[i].name) >= 0) continue;
    if (v == IR_NONE || ir_get(cx->c, v)->op != IR_OP_PARAMETER) {
      diag_error(cx->d, "--max-shape names '%s', which is not an input of the model", o->bounds[i].name);
      FAIL_RC(KILN_ERR_INVALID_ARGUMENT);
    }
    cx->bound_used[i] = true;
  }
  /* value_info about an initializer or a graph input must agree with it;
   * that of node outputs is taken as a hint and not checked. */
  for (size_t i = 0; i < g->n_value_info; i++) {
    const Onnx__ValueInfoProto *vi = g->value_info[i];
    if (!vi->name || !vi->name[0]) {
      diag_error(cx->d, "value_info #%zu has no name", i);
      FAIL_RC(KILN_ERR_PARSE);
    }
    ir_id v = vm_get(&values, vi->name);
    if (v == IR_NONE) continue;
    ir_shape s = ox_shape(cx, v);
    bool input = false; /* a parameter, or an input frozen to a value */
    for (size_t k = 0; k < g->n_input && !input; k++) input = !strcmp(g->input[k]->name, vi->name);
    int r = ox_check_declared(cx, vi, &s, "value_info", input ? "the graph input" : "the initializer");
    if (r != KILN_OK) FAIL_RC(r);
  }
  order = topo_order(cx, g, &values, &rc);
  if (!order) goto done;
  for (size_t k = 0; k < g->n_node; k++) {
    int i = order[k];
    const Onnx__NodeProto *nd = g->node[i];
    ox_node on;
    ox_init_node(cx, &on, nd, i);
    for (int j = 0; j < on.nin; j++) on.in[j] = nd->input[j][0] ? vm_get(&values, nd->input[j]) : IR_NONE;
    ir_builder_set_loc(&cx->b, nd->op_type, nd->name && nd->name[0] ? nd->name : (nd->n_output ? nd->output[0] : ""));
    cx->cur = &on;
    const ox_op *op = ox_find_op(nd->op_type);
    int before = cx->d ? cx->d->errors : 0;
    bool ok = ox_lower_node(cx, op, &on);
    cx->cur = NULL;
    if (!ok) {
      if (cx->d && cx->d->errors == before) ox_error(cx, &on, "could not be lowered");
      FAIL_RC(cx->unsupported ? KILN_ERR_UNSUPPORTED : KILN_ERR_SHAPE);
    }
    for (int j = 0; j < on.nout; j++) {
      if (!nd->output[j][0]) continue;
      ir_id v = on.out[j];
      if (v == IR_NONE) {
        ox_error(cx, &on, "output %d ('%s') is not produced by kiln's lowering of this op", j, nd->output[j]);
        FAIL_RC(KILN_ERR_UNSUPPORTED);
      }
      v = fold_output(cx, v);
      if (v == IR_NONE) FAIL_RC(KILN_ERR_INTERNAL);
      if (!ir_namemap_put(&values, nd->output[j], v)) FAIL_RC(KILN_ERR_OUT_OF_MEMORY);
    }
  }
  for (int i = 0; o && i < o->nbounds; i++) {
    if (cx->bound_used[i]) continue;
    int k = producer_of(g, o->bounds[i].name);
    ox_node on;
    char nm[512] = "?";
    if (k >= 0) {
      ox_init_node(cx, &on, g->node[k], k);
      ox_node_name(&on, nm, sizeof nm);
    }
    diag_error(cx->d, "--max-shape names '%s', the output of node %s (%s), which needs no bound: only graph inputs "
               "and the outputs of Range and ConstantOfShape nodes with run-time inputs take one (the importer "
               "derives the other sizes); remove the entry", o->bounds[i].name, nm,
               k >= 0 && g->node[k]->op_type ? g->node[k]->op_type : "?");
    FAIL_RC(KILN_ERR_INVALID_ARGUMENT);
  }
  /* Outputs. */
  if (g->n_output == 0) {
    diag_error(cx->d, "the graph has no outputs");
    FAIL_RC(KILN_ERR_PARSE);
  }
  ir_id *outs = arena_alloc(&cx->m->arena, g->n_output * sizeof *outs, 8);
  const char **names = arena_alloc(&cx->m->arena, g->n_output * sizeof *names, 8);
  if (!outs || !names) FAIL_RC(KILN_ERR_OUT_OF_MEMORY);
  for (size_t i = 0; i < g->n_output; i++) {
    const Onnx__ValueInfoProto *vi = g->output[i];
    if (!vi->name || !vi->name[0]) {
      diag_error(cx->d, "graph output #%zu has no name", i);
      FAIL_RC(KILN_ERR_PARSE);
    }
    ir_id v = vm_get(&values, vi->name);
    if (v == IR_NONE) {
      diag_error(cx->d, "graph output '%s' is not produced by any node, input or initializer", vi->name ? vi->name : "");
      FAIL_RC(KILN_ERR_PARSE);
    }
    for (size_t j = 0; j < i; j++)
      if (!strcmp(names[j], vi->name)) {
        diag_error(cx->d, "graph output '%s' is listed twice", vi->name);
        FAIL_RC(KILN_ERR_PARSE);
      }
    if (ox_is_box(v)) {
      diag_error(cx->d, "graph output '%s' is %s; kiln's sequences and optionals exist only at import time, so a "
                 "model output must be a tensor (return the elements, e.g. through SequenceAt or "
                 "ConcatFromSequence)", vi->name, ox_box_what(cx, v));
      FAIL_RC(KILN_ERR_UNSUPPORTED);
    }
    int r = output_check(cx, vi, v);
    if (r != KILN_OK) FAIL_RC(r);
    outs[i] = v;
    names[i] = vi->name;
  }
  ir_builder_set_loc(&cx->b, NULL, NULL);
  ir_id t = ir_tuple(&cx->b, (int)g->n_output, outs);
  if (t == IR_NONE || !ir_set_root(&cx->b, t, (int)g->n_output, names)) FAIL_RC(KILN_ERR_INTERNAL);
done:
#undef FAIL_RC
  free(order);
  free(cx->bound_used);
  cx->bound_used = NULL;
  ir_namemap_free(&values);
  cx->values = NULL;
  return rc;
}

/* True when the model imports other domains and no node uses the default
 * one (e.g. a model of training ops only). */
static bool only_other_domains(const Onnx__ModelProto *model) {
  if (!model->n_opset_import || !model->graph) return false;
  for (size_t i = 0; i < model->graph->n_node; i++) {
    const char *dom = model->graph->node[i]->domain;
    if (!dom || !dom[0] || !strcmp(dom, "ai.onnx")) return false;
  }
  return true;
}

/* Imports a model image; `what` names it in messages (the file). */
static int import_image(const void *bytes, size_t n, const onnx_options *o, const char *what, diag *d,
                        ir_module **out) {
  *out = NULL;
  Onnx__ModelProto *model = ox_decode_model(bytes, n, what, d);
  if (!model) return KILN_ERR_PARSE;
  int rc = ox_check_model(model, what, d);
  ox_ctx cx;
  memset(&cx, 0, sizeof cx);
  cx.d = d;
  cx.model = model;
  cx.base_dir = o ? o->base_dir : NULL;
  cx.opts = o;
  /* Opset of the default domain. */
  cx.opset = -1;
  for (size_t i = 0; i < model->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *os = model->opset_import[i];
    if (!os->domain || !os->domain[0] || !strcmp(os->domain, "ai.onnx")) cx.opset = (int)os->version;
  }
  if (rc != KILN_OK) {
    /* reported by ox_check_model */
  } else if (!model->graph) {
    diag_error(d, "the model has no graph");
    rc = KILN_ERR_PARSE;
  } else if (cx.opset < 0 && !only_other_domains(model)) {
    diag_error(d, "the model imports no opset of the default domain (ai.onnx); its opset_import list is missing or incomplete");
    rc = KILN_ERR_PARSE;
  } else if (cx.opset < 0) {
    cx.opset = 0; /* every node is in another domain: the node checks name them */
  } else if (cx.opset < OX_MIN_MODEL_OPSET || cx.opset > OX_MAX_OPSET) {
    diag_error(d, "the model uses ai.onnx opset %d; kiln supports opsets %d to %d (re-export with one of those; "
               "models older than opset %d import where their ops are unchanged since)", cx.opset, OX_MIN_MODEL_OPSET,
               OX_MAX_OPSET, OX_MIN_OPSET);
    rc = KILN_ERR_UNSUPPORTED;
  }
  if (rc == KILN_OK) {
    char name[128];
    const char *gn = model->graph->name && model->graph->name[0] ? model->graph->name : "model";
    size_t k = 0;
    for (const char *p = gn; *p && k + 1 < sizeof name; p++) name[k++] = is_ident_char(*p) ? *p : '_';
    name[k] = 0;
    cx.m = ir_module_create(name);
    cx.c = cx.m ? ir_comp_add(cx.m, "main", true) : NULL;
    if (!cx.c) rc = KILN_ERR_OUT_OF_MEMORY;
  }
  if (rc == KILN_OK) {
    ir_builder_init(&cx.b, cx.m, cx.c, d);
    rc = import_graph(&cx, model, o);
  }
  if (rc == KILN_OK && !ir_comp_canonicalize(cx.m, cx.c)) rc = KILN_ERR_OUT_OF_MEMORY;
  if (rc == KILN_OK) {
    diag_buffer vb;
    diag_buffer_init(&vb);
    if (!ir_verify(cx.m, &vb.sink)) {
      diag_error(d, "internal error: the importer produced invalid IR: %s", vb.first);
      rc = KILN_ERR_INTERNAL;
    }
  }
  free(cx.is_const);
  free(cx.const_data);
  ox_boxes_free(&cx);
  ox_free_model(model);
  if (rc != KILN_OK) {
    ir_module_destroy(cx.m);
    return rc;
  }
  *out = cx.m;
  return KILN_OK;
}

int onnx_import(const void *bytes, size_t n, const onnx_options *o, diag *d, ir_module **out) {
  return import_image(bytes, n, o, "model", d, out);
}

/* A sink that forwards to the caller's with the file's name in front, so
 * that every message about a model file names it; messages that already
 * start with it (the decoder's, ox_check_model's) pass unchanged. */
typedef struct file_sink {
  diag *to;
  const char *path;
} file_sink;

static void name_file(void *user, diag_level level, const char *msg) {
  const file_sink *f = user;
  size_t n = strlen(f->path);
  if (!strncmp(msg, f->path, n) && msg[n] == ':') diag_emit(f->to, level, "%s", msg);
  else diag_emit(f->to, level, "%s: %s", f->path, msg);
}

int onnx_import_file(const char *path, const onnx_options *o, diag *d, ir_module **out) {
  void *buf;
  size_t n;
  *out = NULL;
  int rc = ox_read_file(path, &buf, &n, d);
  if (rc != KILN_OK) return rc;
  onnx_options oo = o ? *o : (onnx_options){0};
  char *dir = ox_dirname(path);
  oo.base_dir = dir;
  file_sink fs = {d, path};
  diag named = {name_file, &fs, 0};
  rc = dir ? import_image(buf, n, &oo, path, &named, out) : KILN_ERR_OUT_OF_MEMORY;
  free(dir);
  free(buf);
  return rc;
}

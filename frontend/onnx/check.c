/*
 * The structural rules of ONNX that the importer enforces before it lowers
 * anything, so that a broken model is refused with a message naming what
 * is wrong instead of being imported by guesswork:
 *   - the model: an ir_version kiln knows, one opset_import per domain;
 *   - every node: at least one output, attributes with a non-empty name,
 *     given once, whose declared type agrees with the field holding the
 *     value; a domain the model imports; names read by its subgraphs that
 *     exist in some enclosing scope;
 *   - every node of a supported op: its input and output counts and the
 *     attributes its op defines at the node's opset (ox_op.in/.out/.attrs,
 *     declared beside each lowering in the ops_*.c tables);
 *   - declared types (graph inputs, value_info) that agree with an
 *     initializer or an input of the same name.
 * Tensor contents (one data field, the right one for the data_type) are
 * checked where they are decoded, in tensor.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "ir/namemap.h"
#include "kiln/kiln.h"

static const char *str_or(const char *s, const char *dflt) { return s && s[0] ? s : dflt; }

static bool default_domain(const char *dom) { return !dom || !dom[0] || !strcmp(dom, "ai.onnx"); }

/* ---- the model ---- */

int ox_check_model(const Onnx__ModelProto *m, const char *what, diag *d) {
  int rc = KILN_OK;
  if (!m->has_ir_version || m->ir_version < OX_MIN_IR_VERSION) {
    diag_error(d, "%s: ir_version %lld is not a valid ONNX IR version (kiln reads IR versions %d to %d; versions "
               "before %d have no opset_import)", what, (long long)(m->has_ir_version ? m->ir_version : 0),
               OX_MIN_IR_VERSION, OX_MAX_IR_VERSION, OX_MIN_IR_VERSION);
    rc = KILN_ERR_PARSE;
  } else if (m->ir_version > OX_MAX_IR_VERSION) {
    diag_error(d, "%s: ir_version %lld is newer than any ONNX release kiln knows (kiln reads IR versions %d to %d)",
               what, (long long)m->ir_version, OX_MIN_IR_VERSION, OX_MAX_IR_VERSION);
    rc = KILN_ERR_UNSUPPORTED;
  }
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *a = m->opset_import[i];
    if (!a->has_version || a->version < 1) {
      diag_error(d, "%s: opset_import entry #%zu (domain '%s') has no valid version (%lld)", what, i,
                 str_or(a->domain, ""), (long long)a->version);
      rc = KILN_ERR_PARSE;
    }
    for (size_t j = 0; j < i; j++) {
      const Onnx__OperatorSetIdProto *b = m->opset_import[j];
      bool same = default_domain(a->domain) ? default_domain(b->domain)
                                            : b->domain && !strcmp(a->domain, b->domain);
      if (same) {
        diag_error(d, "%s: opset_import lists domain '%s' twice (entries #%zu and #%zu%s); a model imports one "
                   "version of each domain", what, str_or(a->domain, "ai.onnx"), j, i,
                   default_domain(a->domain) ? "; '' and 'ai.onnx' are the same domain" : "");
        rc = KILN_ERR_PARSE;
        break;
      }
    }
  }
  return rc;
}

/* ---- attributes ---- */

static const char *attr_type_name(int t) {
  static const char *const names[] = {"UNDEFINED", "FLOAT",   "INT",    "STRING",         "TENSOR",
                                      "GRAPH",     "FLOATS",  "INTS",   "STRINGS",        "TENSORS",
                                      "GRAPHS",    "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"};
  return t >= 0 && t <= 14 ? names[t] : "unknown";
}

/* The attribute type a letter of an ox_op.attrs spec stands for. */
static int spec_type(char c) {
  switch (c) {
    case 'f': return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    case 'i': return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    case 's': return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    case 't': return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    case 'g': return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    case 'p': return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR;
    case 'F': return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    case 'I': return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    case 'S': return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
    case 'T': return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS;
    case 'G': return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS;
    case 'P': return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS;
    case 'y': return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO; /* Optional's 'type' */
    default: return -1;
  }
}

/* Checks that the declared type of a agrees with the fields that hold its
 * value. As ONNX's checker does, a scalar (int, float, string) may be
 * absent: proto3 writers leave out a value equal to the default. */
static bool check_attr_fields(ox_ctx *cx, const ox_node *n, const Onnx__AttributeProto *a) {
  struct {
    bool used;
    int type;
    const char *field;
  } f[] = {
      {a->has_f, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "f"},
      {a->has_i, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, "i"},
      {a->has_s, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, "s"},
      {a->t != NULL, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR, "t"},
      {a->g != NULL, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH, "g"},
      {a->sparse_tensor != NULL, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR, "sparse_tensor"},
      {a->tp != NULL, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO, "tp"},
      {a->n_floats > 0, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS, "floats"},
      {a->n_ints > 0, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, "ints"},
      {a->n_strings > 0, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS, "strings"},
      {a->n_tensors > 0, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS, "tensors"},
      {a->n_graphs > 0, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS, "graphs"},
      {a->n_sparse_tensors > 0, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS, "sparse_tensors"},
      {a->n_type_protos > 0, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS, "type_protos"},
  };
  int type = a->has_type ? (int)a->type : 0;
  if (type == 0 || !strcmp(attr_type_name(type), "unknown"))
    return ox_error(cx, n, "attribute '%s' has %s type (%d); its 'type' field must say which value field is in use",
                    a->name, type ? "an unknown" : "no", type);
  const char *first = NULL;
  for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
    if (!f[k].used) continue;
    if (f[k].type != type)
      return ox_error(cx, n, "attribute '%s' is declared %s, but a value is in field '%s' (for %s); the declared type "
                      "and the field holding the value must agree", a->name, attr_type_name(type), f[k].field,
                      attr_type_name(f[k].type));
    if (first) /* the same type in two fields cannot happen: one field per type */
      return ox_error(cx, n, "attribute '%s' holds values in two fields ('%s' and '%s')", a->name, first, f[k].field);
    first = f[k].field;
  }
  bool needs_value = type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR ||
                     type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH ||
                     type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR ||
                     type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO;
  if (needs_value && !first)
    return ox_error(cx, n, "attribute '%s' is declared %s but holds no value", a->name, attr_type_name(type));
  return true;
}

/* Looks name up in an ox_op.attrs spec. Returns false when the op does not
 * define it at all; else sets the type and the opsets [*from, *to] that
 * define it. */
static bool spec_lookup(const char *spec, const char *name, int *type, int *from, int *to) {
  size_t len = strlen(name);
  for (const char *p = spec; p && *p;) {
    while (*p == ' ') p++;
    const char *colon = strchr(p, ':');
    if (!colon) return false;
    const char *end = strchr(colon, ' ');
    if (!end) end = colon + strlen(colon);
    if ((size_t)(colon - p) == len && !strncmp(p, name, len)) {
      *type = spec_type(colon[1]);
      *from = 1;
      *to = OX_MAX_OPSET;
      if (colon[2] == '@') { /* "@A-B", "@A-" or "@-B" */
        const char *q = colon + 3;
        if (*q != '-') {
          char *e;
          *from = (int)strtol(q, &e, 10);
          q = e;
        }
        if (*q == '-' && q + 1 < end) *to = (int)strtol(q + 1, NULL, 10);
      }
      return true;
    }
    p = end;
  }
  return false;
}

/* The attributes op defines at opset v, as "a, b, c" (or "none"). */
static void spec_list(const char *spec, int v, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  for (const char *p = spec; p && *p;) {
    while (*p == ' ') p++;
    const char *colon = strchr(p, ':');
    if (!colon) break;
    const char *end = strchr(colon, ' ');
    if (!end) end = colon + strlen(colon);
    char name[64];
    size_t nl = (size_t)(colon - p) < sizeof name - 1 ? (size_t)(colon - p) : sizeof name - 1;
    memcpy(name, p, nl);
    name[nl] = 0;
    int type, from, to;
    if (spec_lookup(spec, name, &type, &from, &to) && v >= from && v <= to) {
      int k = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", name);
      len = k > 0 && (size_t)k < cap - len ? len + (size_t)k : cap - 1;
    }
    p = end;
  }
  if (!len) snprintf(buf, cap, "none");
}

static bool check_attrs(ox_ctx *cx, const ox_node *n, const ox_op *op) {
  const Onnx__NodeProto *nd = n->p;
  bool ok = true;
  for (size_t i = 0; i < nd->n_attribute; i++) {
    const Onnx__AttributeProto *a = nd->attribute[i];
    if (!a->name || !a->name[0]) {
      ok = ox_error(cx, n, "attribute #%zu has an empty name", i);
      continue;
    }
    bool dup = false;
    for (size_t j = 0; j < i && !dup; j++) dup = nd->attribute[j]->name && !strcmp(nd->attribute[j]->name, a->name);
    if (dup) {
      ok = ox_error(cx, n, "attribute '%s' is given twice; a node has at most one attribute of each name", a->name);
      continue;
    }
    if (a->ref_attr_name && a->ref_attr_name[0]) {
      ok = ox_error(cx, n, "attribute '%s' refers to a function attribute ('%s'), which only a node inside a function "
                    "body may do", a->name, a->ref_attr_name);
      continue;
    }
    if (!check_attr_fields(cx, n, a)) {
      ok = false;
      continue;
    }
    if (!op) continue;
    int type, from, to;
    char list[512];
    if (!spec_lookup(op->attrs, a->name, &type, &from, &to)) {
      spec_list(op->attrs, n->opset, list, sizeof list);
      ok = ox_error(cx, n, "attribute '%s' is not defined by %s (the attributes of %s at opset %d: %s)", a->name,
                    op->op_type, op->op_type, n->opset, list);
    } else if (n->opset < from || n->opset > to) {
      if (n->opset < from)
        ok = ox_error(cx, n, "attribute '%s' is not defined by %s at opset %d (it was added in opset %d)", a->name,
                      op->op_type, n->opset, from);
      else
        ok = ox_error(cx, n, "attribute '%s' is not defined by %s at opset %d (it was removed in opset %d)", a->name,
                      op->op_type, n->opset, to + 1);
    } else if (type != (int)a->type) {
      ok = ox_error(cx, n, "attribute '%s' of %s must be %s, not %s", a->name, op->op_type, attr_type_name(type),
                    attr_type_name((int)a->type));
    }
  }
  return ok;
}

/* ---- nodes ---- */

bool ox_check_node(ox_ctx *cx, const ox_node *n, const ox_op *op) {
  const Onnx__NodeProto *nd = n->p;
  bool ok = true;
  if (nd->n_output == 0) {
    ok = ox_error(cx, n, "the node has no outputs; every ONNX node produces at least one");
  } else {
    bool named = false;
    for (size_t i = 0; i < nd->n_output && !named; i++) named = nd->output[i][0] != 0;
    if (!named) ok = ox_error(cx, n, "none of the node's %zu outputs has a name; every ONNX node produces at least one",
                              nd->n_output);
  }
  if (!check_attrs(cx, n, op)) ok = false;
  if (!op) return ok;
  if (nd->n_input < op->in.min || nd->n_input > op->in.max) {
    if (op->in.min == op->in.max)
      ok = ox_error(cx, n, "the node has %zu input%s; %s takes %d", nd->n_input, nd->n_input == 1 ? "" : "s",
                    op->op_type, op->in.min);
    else if (nd->n_input < op->in.min)
      ok = ox_error(cx, n, "the node has %zu input%s; %s takes at least %d", nd->n_input, nd->n_input == 1 ? "" : "s",
                    op->op_type, op->in.min);
    else
      ok = ox_error(cx, n, "the node has %zu inputs; %s takes at most %d", nd->n_input, op->op_type, op->in.max);
  }
  /* No outputs at all was reported above. */
  if (nd->n_output && (nd->n_output < op->out.min || nd->n_output > op->out.max)) {
    if (nd->n_output < op->out.min)
      ok = ox_error(cx, n, "the node has %zu output%s; %s has %d", nd->n_output, nd->n_output == 1 ? "" : "s",
                    op->op_type, op->out.min);
    else
      ok = ox_error(cx, n, "the node has %zu outputs; %s defines at most %d", nd->n_output, op->op_type, op->out.max);
  }
  return ok;
}

bool ox_check_domain(ox_ctx *cx, const ox_node *n) {
  const char *dom = n->p->domain;
  if (default_domain(dom)) return true;
  const Onnx__ModelProto *m = cx->model;
  for (size_t i = 0; m && i < m->n_opset_import; i++)
    if (m->opset_import[i]->domain && !strcmp(m->opset_import[i]->domain, dom)) return true;
  return ox_error(cx, n, "the node's domain '%s' is not in the model's opset_import list, so its operator version is "
                  "unknown", dom);
}

/* ---- subgraphs ---- */

/* A chain of name sets, innermost first: the names a subgraph can read. */
typedef struct scope {
  const ir_namemap *names;
  const struct scope *up;
} scope;

static bool in_scope(const scope *s, const char *name) {
  for (; s; s = s->up)
    if (ir_namemap_get(s->names, name, strlen(name)) != IR_NONE) return true;
  return false;
}

static bool add_name(ir_namemap *m, const char *name) {
  if (!name || !name[0] || ir_namemap_get(m, name, strlen(name)) != IR_NONE) return true;
  return ir_namemap_put(m, name, 1);
}

bool ox_graph_names(const Onnx__GraphProto *g, ir_namemap *m) {
  bool ok = true;
  for (size_t i = 0; ok && i < g->n_input; i++) ok = add_name(m, g->input[i]->name);
  for (size_t i = 0; ok && i < g->n_initializer; i++) ok = add_name(m, g->initializer[i]->name);
  for (size_t i = 0; ok && i < g->n_node; i++)
    for (size_t k = 0; ok && k < g->node[i]->n_output; k++) ok = add_name(m, g->node[i]->output[k]);
  return ok;
}

static bool check_subgraphs_of(ox_ctx *cx, const ox_node *n, const Onnx__NodeProto *nd, const scope *up,
                               const char *path);

/* Checks subgraph g (reached by `path`, e.g. "attribute 'then_branch'")
 * of node n: every name its nodes read and its outputs name is defined in
 * it or in an enclosing graph. */
static bool check_subgraph(ox_ctx *cx, const ox_node *n, const Onnx__GraphProto *g, const scope *up, const char *path) {
  ir_namemap own = {0};
  if (!ox_graph_names(g, &own)) {
    ir_namemap_free(&own);
    cx->out_of_memory = true;
    return ox_error(cx, n, "out of memory checking %s", path);
  }
  scope here = {&own, up};
  bool ok = true;
  for (size_t i = 0; i < g->n_node; i++) {
    const Onnx__NodeProto *sn = g->node[i];
    for (size_t j = 0; j < sn->n_input; j++) {
      const char *in = sn->input[j];
      if (in[0] && !in_scope(&here, in))
        ok = ox_error(cx, n, "%s: node #%zu '%s' (%s) reads '%s', which is defined neither in that graph nor in an "
                      "enclosing one", path, i, str_or(sn->name, ""), str_or(sn->op_type, "?"), in);
    }
    char sub[512];
    snprintf(sub, sizeof sub, "%s, node #%zu '%s'", path, i, str_or(sn->name, ""));
    if (!check_subgraphs_of(cx, n, sn, &here, sub)) ok = false;
  }
  for (size_t i = 0; i < g->n_output; i++) {
    const char *o = g->output[i]->name;
    if (!o || !o[0]) ok = ox_error(cx, n, "%s: graph output #%zu has no name", path, i);
    else if (!in_scope(&here, o))
      ok = ox_error(cx, n, "%s: graph output '%s' is defined neither in that graph nor in an enclosing one", path, o);
  }
  ir_namemap_free(&own);
  return ok;
}

static bool check_subgraphs_of(ox_ctx *cx, const ox_node *n, const Onnx__NodeProto *nd, const scope *up,
                               const char *path) {
  bool ok = true;
  for (size_t i = 0; i < nd->n_attribute; i++) {
    const Onnx__AttributeProto *a = nd->attribute[i];
    char where[640];
    if (a->g) {
      snprintf(where, sizeof where, "%s%sattribute '%s'", path, path[0] ? ", " : "", str_or(a->name, ""));
      if (!check_subgraph(cx, n, a->g, up, where)) ok = false;
    }
    for (size_t k = 0; k < a->n_graphs; k++) {
      snprintf(where, sizeof where, "%s%sattribute '%s' (graph #%zu)", path, path[0] ? ", " : "", str_or(a->name, ""),
               k);
      if (!check_subgraph(cx, n, a->graphs[k], up, where)) ok = false;
    }
  }
  return ok;
}

bool ox_check_subgraphs(ox_ctx *cx, const ox_node *n, const ir_namemap *outer) {
  scope top = {outer, NULL};
  return check_subgraphs_of(cx, n, n->p, &top, "");
}

/* ---- declared types ---- */

int ox_check_declared(ox_ctx *cx, const Onnx__ValueInfoProto *vi, const ir_shape *s, const char *what,
                      const char *against) {
  char buf[160];
  if (!vi->type) return KILN_OK;
  if (vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type) {
    diag_error(cx->d, "%s '%s' is declared as a non-tensor type, but %s is a tensor (%s)", what, vi->name, against,
               ir_shape_str(s, buf, sizeof buf));
    return KILN_ERR_PARSE;
  }
  const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
  ir_type ty;
  if (tt->has_elem_type && tt->elem_type != 0 && (!ox_type_from_onnx(tt->elem_type, &ty) || ty != s->type)) {
    diag_error(cx->d, "%s '%s' is declared with element type %s, but %s is %s", what, vi->name,
               ox_onnx_type_name(tt->elem_type), against, ir_shape_str(s, buf, sizeof buf));
    return KILN_ERR_PARSE;
  }
  const Onnx__TensorShapeProto *sp = tt->shape;
  if (!sp) return KILN_OK;
  if ((int)sp->n_dim != s->rank) {
    diag_error(cx->d, "%s '%s' is declared with rank %zu, but %s is %s", what, vi->name, sp->n_dim, against,
               ir_shape_str(s, buf, sizeof buf));
    return KILN_ERR_PARSE;
  }
  for (int i = 0; i < s->rank; i++) {
    const Onnx__TensorShapeProto__Dimension *dm = sp->dim[i];
    if (s->sym[i]) continue; /* symbolic (--max-shape): dims[i] is only its bound */
    if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dm->dim_value != s->dims[i]) {
      diag_error(cx->d, "%s '%s' declares dimension %d as %lld, but %s is %s", what, vi->name, i,
                 (long long)dm->dim_value, against, ir_shape_str(s, buf, sizeof buf));
      return KILN_ERR_PARSE;
    }
  }
  return KILN_OK;
}

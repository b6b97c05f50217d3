/*
 * Node attributes: typed getters with defaults. A present attribute of the
 * wrong type, or a string attribute that is none of the values an op
 * accepts, is reported (naming node and attribute) rather than ignored.
 */
#include <stdio.h>
#include <string.h>

#include "frontend/onnx/ox.h"

const Onnx__AttributeProto *ox_attr(const ox_node *n, const char *name) {
  for (size_t i = 0; i < n->p->n_attribute; i++) {
    const Onnx__AttributeProto *a = n->p->attribute[i];
    if (a->name && !strcmp(a->name, name)) return a;
  }
  return NULL;
}

static bool wrong_type(ox_ctx *cx, const ox_node *n, const char *name, const char *want, bool *ok) {
  ox_error(cx, n, "attribute '%s' must be %s", name, want);
  if (ok) *ok = false;
  return false;
}

int64_t ox_attr_int(ox_ctx *cx, const ox_node *n, const char *name, int64_t dflt, bool *ok) {
  const Onnx__AttributeProto *a = ox_attr(n, name);
  if (!a) return dflt;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT) {
    wrong_type(cx, n, name, "an int", ok);
    return dflt;
  }
  return a->i;
}

float ox_attr_float(ox_ctx *cx, const ox_node *n, const char *name, float dflt, bool *ok) {
  const Onnx__AttributeProto *a = ox_attr(n, name);
  if (!a) return dflt;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) {
    wrong_type(cx, n, name, "a float", ok);
    return dflt;
  }
  return a->f;
}

int ox_attr_ints(ox_ctx *cx, const ox_node *n, const char *name, int64_t *out, int max, bool *ok) {
  const Onnx__AttributeProto *a = ox_attr(n, name);
  if (!a) return -1;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS) {
    wrong_type(cx, n, name, "a list of ints", ok);
    return -1;
  }
  if (a->n_ints > (size_t)max) {
    ox_error(cx, n, "attribute '%s' has %zu entries; at most %d are supported", name, a->n_ints, max);
    if (ok) *ok = false;
    return -1;
  }
  if (a->n_ints) memcpy(out, a->ints, a->n_ints * sizeof *out);
  return (int)a->n_ints;
}

int ox_attr_floats(ox_ctx *cx, const ox_node *n, const char *name, float *out, int max, bool *ok) {
  const Onnx__AttributeProto *a = ox_attr(n, name);
  if (!a) return -1;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS) {
    wrong_type(cx, n, name, "a list of floats", ok);
    return -1;
  }
  if (a->n_floats > (size_t)max) {
    ox_error(cx, n, "attribute '%s' has %zu entries; at most %d are supported", name, a->n_floats, max);
    if (ok) *ok = false;
    return -1;
  }
  if (a->n_floats) memcpy(out, a->floats, a->n_floats * sizeof *out);
  return (int)a->n_floats;
}

const char *ox_attr_string(ox_ctx *cx, const ox_node *n, const char *name, const char *dflt, bool *ok) {
  const Onnx__AttributeProto *a = ox_attr(n, name);
  if (!a) return dflt;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING) {
    wrong_type(cx, n, name, "a string", ok);
    return dflt;
  }
  if (!a->s.len) return ""; /* data may be NULL */
  if (memchr(a->s.data, 0, a->s.len)) {
    ox_error(cx, n, "attribute '%s' contains a NUL byte", name);
    if (ok) *ok = false;
    return dflt;
  }
  /* The arena of the module being built outlives the node. */
  return arena_strndup(&cx->m->arena, (const char *)a->s.data, a->s.len);
}

int ox_attr_choice(ox_ctx *cx, const ox_node *n, const char *name, const char *dflt, const char *const *choices) {
  bool ok = true;
  const char *v = ox_attr_string(cx, n, name, dflt, &ok);
  if (!ok || !v) return -1;
  char list[256];
  size_t len = 0;
  for (int i = 0; choices[i]; i++) {
    if (!strcmp(v, choices[i])) return i;
    int k = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", choices[i]);
    len = k > 0 && (size_t)k < sizeof list - len ? len + (size_t)k : sizeof list - 1;
  }
  ox_error(cx, n, "attribute %s='%s' is not one of %s", name, v, list);
  return -1;
}

/*
 * Internals of the ONNX importer (prefix ox_).
 *
 * Import walks the graph's nodes in order. Every ONNX value (graph input,
 * initializer, node output) maps to one IR instruction id. Each node is
 * lowered by the function its op registers (ops_*.c files each contribute a
 * table; registry.c joins them) into core IR ops built through ir/builder.h,
 * with the builder's location set to the node.
 *
 * Values whose inputs are all known at import time (initializers, Shape of a
 * static shape, Constant, and anything computed only from those) are
 * "constant": lowering functions can read their contents with ox_const_*
 * (evaluated with the reference interpreter), and small constant results
 * are folded into constants as import goes so that shape-computing
 * subgraphs disappear from the IR.
 */
#ifndef KILN_FRONTEND_OX_H
#define KILN_FRONTEND_OX_H

#include "frontend/onnx/onnx.h"
#include "frontend/onnx/onnx.pb-c.h"
#include "ir/builder.h"

#define OX_MIN_OPSET 7
#define OX_MAX_OPSET 17
#define OX_MAX_IO 64 /* inputs or outputs of one node handled at once */

typedef struct ox_ctx ox_ctx;

/* One node being lowered. in[i] is IR_NONE for an absent optional input
 * (empty name or fewer inputs given); the lowering sets out[0..nout). */
typedef struct ox_node {
  const Onnx__NodeProto *p;
  int index;       /* position in the graph */
  int opset;       /* ai.onnx opset version in effect */
  int nin, nout;
  ir_id in[OX_MAX_IO];
  ir_id out[OX_MAX_IO];
} ox_node;

/* Lowers n; on failure reports through ox_error and returns false. */
typedef bool (*ox_lower_fn)(ox_ctx *cx, ox_node *n);
/* Optional pre-check run on every node before anything is lowered, so that
 * all unsupported constructs of a model are reported at once. Returns false
 * after reporting through ox_error. Input shapes are not known yet. */
typedef bool (*ox_check_fn)(ox_ctx *cx, const ox_node *n);

typedef struct ox_op {
  const char *op_type;
  int min_opset; /* first opset this lowering handles (usually OX_MIN_OPSET) */
  ox_lower_fn lower;
  ox_check_fn check;
} ox_op;

/* Tables contributed by the ops_*.c files, each ended by {NULL}. */
extern const ox_op ox_ops_elementwise[];
extern const ox_op ox_ops_tensor[];
extern const ox_op ox_ops_nn[];
extern const ox_op ox_ops_reduce[];
extern const ox_op ox_ops_misc[];
const ox_op *ox_find_op(const char *op_type);

/* ---- decoding (decode.c) ---- */
Onnx__ModelProto *ox_decode_model(const void *bytes, size_t n, const char *what, diag *d);
Onnx__TensorProto *ox_decode_tensor(const void *bytes, size_t n, const char *what, diag *d);

/* ---- tensors (tensor.c) ---- */
/* Maps an ONNX TensorProto.DataType to an IR type; false if unsupported. */
bool ox_type_from_onnx(int32_t dt, ir_type *out);
const char *ox_onnx_type_name(int32_t dt);
/* Decodes a TensorProto's contents (typed fields, raw_data or external
 * data under base_dir) into a malloc'd row-major buffer; checks that sizes
 * agree with dims. `what` names it in messages. Returns a kiln_status. */
int ox_tensor_data(const Onnx__TensorProto *t, const char *base_dir, const char *what, ir_shape *shape, void **data,
                   diag *d);

/* Reads a whole file into a malloc'd buffer (a kiln_status). */
int ox_read_file(const char *path, void **data, size_t *len, diag *d);
/* The folder part of a path ("." when none); malloc'd. */
char *ox_dirname(const char *path);

/* ---- the import context (import.c) ---- */
struct ox_ctx {
  ir_module *m;
  ir_comp *c;
  ir_builder b;
  diag *d;
  int opset;
  const char *base_dir;
  /* Node currently lowered, for messages. */
  const ox_node *cur;
  /* Per-instruction: known at import time? and its evaluated data. */
  uint8_t *is_const;
  void **const_data;
  uint32_t nconst; /* entries of is_const/const_data that are valid */
  uint32_t capconst;
  int errors;
};

/* Reports an error about node n (name, op type, opset) and returns false. */
bool ox_error(ox_ctx *cx, const ox_node *n, const char *fmt, ...) DIAG_PRINTF(3, 4);
/* The node's display name: its name, or "#index (output 'x')". */
const char *ox_node_name(const ox_node *n, char *buf, size_t len);

/* ---- attributes (attr.c) ---- */
const Onnx__AttributeProto *ox_attr(const ox_node *n, const char *name);
/* Each getter returns the default when the attribute is absent; a present
 * attribute of the wrong type is an error (reported; *ok set false). */
int64_t ox_attr_int(ox_ctx *cx, const ox_node *n, const char *name, int64_t dflt, bool *ok);
float ox_attr_float(ox_ctx *cx, const ox_node *n, const char *name, float dflt, bool *ok);
/* Copies up to max ints; returns the count, or -1 when absent. */
int ox_attr_ints(ox_ctx *cx, const ox_node *n, const char *name, int64_t *out, int max, bool *ok);
int ox_attr_floats(ox_ctx *cx, const ox_node *n, const char *name, float *out, int max, bool *ok);
/* A string attribute as a C string in the module arena (dflt if absent). */
const char *ox_attr_string(ox_ctx *cx, const ox_node *n, const char *name, const char *dflt, bool *ok);

/* ---- helpers for lowering (lower.c) ---- */
static inline const ir_shape *ox_shape(ox_ctx *cx, ir_id v) { return ir_shape_of(cx->c, v); }
/* Requires input i to be present; reports and returns false otherwise. */
bool ox_need_inputs(ox_ctx *cx, const ox_node *n, int count);
/* True when v is known at import time. */
bool ox_is_const(ox_ctx *cx, ir_id v);
/* Logical row-major contents of a value known at import time, or NULL
 * after reporting (naming `what`, e.g. "the 'shape' input"). */
const void *ox_const_data(ox_ctx *cx, const ox_node *n, ir_id v, const char *what);
/* Integer contents (any integer type) as int64; returns the count or -1. */
int ox_const_ints(ox_ctx *cx, const ox_node *n, ir_id v, int64_t *out, int max, const char *what);
/* A float scalar's value (any numeric type). */
bool ox_const_scalar_f(ox_ctx *cx, const ox_node *n, ir_id v, double *out, const char *what);
/* Scalar constant of type t. */
ir_id ox_scalar(ox_ctx *cx, ir_type t, double v);
/* 1-D i64 constant. */
ir_id ox_const_i64(ox_ctx *cx, int n, const int64_t *v);
/* A scalar constant broadcast to `like`'s dims (type t). */
ir_id ox_full_like(ox_ctx *cx, ir_id like, ir_type t, double v);
/* NumPy broadcasting of x to rank/dims (size-1 dimensions stretch). */
ir_id ox_broadcast_to(ox_ctx *cx, const ox_node *n, ir_id x, int rank, const int64_t *dims);
/* Broadcasts a and b to their common NumPy shape; false on mismatch. */
bool ox_broadcast_pair(ox_ctx *cx, const ox_node *n, ir_id *a, ir_id *b);
/* Elementwise binary op with NumPy broadcasting; operand types must agree. */
ir_id ox_binary(ox_ctx *cx, const ox_node *n, ir_op op, ir_id a, ir_id b);
ir_id ox_compare(ox_ctx *cx, const ox_node *n, ir_cmp dir, ir_id a, ir_id b);
/* Normalises an axis in [-rank, rank) (or [-rank-1, rank] when `extra`). */
bool ox_axis(ox_ctx *cx, const ox_node *n, int64_t axis, int rank, bool extra, int64_t *out);
/* Reshape to dims (helper that skips no-op reshapes). */
ir_id ox_reshape(ox_ctx *cx, ir_id x, int rank, const int64_t *dims);

#endif

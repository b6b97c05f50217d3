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
#include "ir/symbolic.h"

#define OX_MIN_OPSET 7
/* The newest released ai.onnx opset (26, ONNX 1.21; ONNX 1.22's opset 27
 * is still "under development"); versions.c lists every op's versions up
 * to it. */
#define OX_MAX_OPSET 26
/* Models may declare older opsets: each op's table entry says from which
 * version kiln lowers it (ops unchanged since opset 1 or 6 say so). */
#define OX_MIN_MODEL_OPSET 1
#define OX_MAX_IO 64 /* inputs or outputs of one node handled at once */
/* IR versions read: opset_import (how a model says which operator versions
 * it uses) appeared in IR 3; IR 13 is the newest ONNX has published (IR 10
 * came with ONNX 1.16, 11 with 1.18, 12 with 1.19, 13 with 1.20, whose
 * opset is 25, and stays 13 in 1.21 (opset 26); 11 to 13 only add element types and multi-device fields,
 * which kiln refuses or ignores). Newer IR versions are refused: they may
 * carry constructs this importer cannot see. */
#define OX_MIN_IR_VERSION 3
#define OX_MAX_IR_VERSION 13

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

/* How many inputs or outputs a node of an op may have; max OX_MAX_IO for a
 * variadic op. Trailing optional ones left out (or given as '') count as
 * the ONNX checker counts them: by position. */
typedef struct ox_arity {
  uint8_t min, max;
} ox_arity;

/* One supported op: its lowering and what ONNX defines for it, which
 * check.c enforces on every node before anything is lowered.
 *
 * `in` and `out` are the arity over the opsets this lowering handles
 * (min_opset to OX_MAX_OPSET), the loosest of them where opsets differ
 * (Clip has 1 input before opset 11, up to 3 from then on).
 *
 * `attrs` lists the attributes the op defines (NULL: none), separated by
 * spaces, each as NAME:T or NAME:T@FROM-TO where T is the type (f i s t g
 * p: FLOAT INT STRING TENSOR GRAPH SPARSE_TENSOR; F I S T G P: their list
 * forms; y: TYPE_PROTO) and @FROM-TO the opsets that define it when not
 * all do ("@-5": up to opset 5, "@12-": from opset 12). The specs were taken from the
 * operator schemas of onnx 1.12 (onnx.defs.get_schema), which cover opsets
 * 1 to 17, and for later opsets from the ONNX changelog ("saturate:i@19-");
 * see docs/onnx-import.md. */
typedef struct ox_op {
  const char *op_type;
  int min_opset; /* first opset this lowering handles (usually OX_MIN_OPSET) */
  ox_lower_fn lower;
  ox_check_fn check;
  ox_arity in, out;
  const char *attrs;
  /* The newest version of the op (an ONNX since_version) whose semantics
   * this lowering implements. A model whose opset selects a newer version
   * of the op is refused, naming both, rather than imported with the old
   * semantics. 0: the version in effect at opset 17 (what kiln lowered
   * before it read later opsets). */
  int max_version;
} ox_op;

/* Tables contributed by the ops_*.c files, each ended by {0}. */
extern const ox_op ox_ops_elementwise[];
extern const ox_op ox_ops_tensor[];
extern const ox_op ox_ops_nn[];
extern const ox_op ox_ops_reduce[];
extern const ox_op ox_ops_misc[];
extern const ox_op ox_ops_activation[];
extern const ox_op ox_ops_index[];
extern const ox_op ox_ops_quant[];
extern const ox_op ox_ops_signal[];
extern const ox_op ox_ops_conv[];    /* ops_conv.c */
extern const ox_op ox_ops_einsum[];  /* ops_einsum.c */
extern const ox_op ox_ops_resize[];  /* ops_resize.c */
extern const ox_op ox_ops_loss[];    /* ops_loss.c */
extern const ox_op ox_ops_rnn[];     /* ops_rnn.c */
extern const ox_op ox_ops_spatial[]; /* ops_spatial.c */
extern const ox_op ox_ops_control[]; /* ops_control.c: If, Loop, Scan */
extern const ox_op ox_ops_norm[];      /* ops_norm.c */
extern const ox_op ox_ops_pointwise[]; /* ops_pointwise.c */
extern const ox_op ox_ops_attention[]; /* ops_attention.c */
extern const ox_op ox_ops_sequence[];  /* ops_sequence.c: sequences and optionals */
extern const ox_op ox_ops_datashape[]; /* ops_datashape.c: Unique, NonMaxSuppression */
const ox_op *ox_find_op(const char *op_type);
/* The i-th row of all the tables (in registry order), NULL past the end. */
const ox_op *ox_op_index(size_t i);

/* ---- the ONNX operator versions (versions.c) ---- */
/* Why kiln does not lower an op of the spec (shown in docs/onnx-ops.md and
 * in the importer's message for a node of that op). */
typedef enum ox_why {
  OX_WHY_NOT_YET,      /* nothing in the way but the work */
  OX_WHY_STRINGS,      /* string tensors */
  OX_WHY_RANDOM,       /* random generators */
  OX_WHY_DATA_SHAPE,   /* output shape decided by input values */
  OX_WHY_IMAGE,        /* decoding image files */
  OX_WHY_BITCAST,      /* reinterpreting bits (BitCast): no IR op does it */
} ox_why;
#define OX_SPEC_VERSIONS 12
/* One operator of the ai.onnx domain: the opsets that gave it a new
 * version (its since_versions), ascending, ended by 0 when fewer than
 * OX_SPEC_VERSIONS. */
typedef struct ox_spec_op {
  const char *op_type;
  int versions[OX_SPEC_VERSIONS];
  ox_why why;      /* when kiln does not lower it */
  bool deprecated; /* by the spec (still valid: Upsample-10, Scatter-11) */
} ox_spec_op;
/* Every op up to OX_MAX_OPSET, sorted by name, ended by {0}. */
extern const ox_spec_op ox_spec_ops[];
/* The op's entry, or NULL when the ai.onnx domain has no such op. */
const ox_spec_op *ox_spec_find(const char *op_type);
/* The version of the op a model of this opset uses (the largest
 * since_version <= opset); 0 when the op does not exist yet at it. */
int ox_spec_version_at(const ox_spec_op *s, int opset);
/* The newest version of s that lowering op implements: its max_version,
 * or for 0 the version in effect at opset 17. */
int ox_op_max_version(const ox_op *op, const ox_spec_op *s);
const char *ox_why_text(ox_why why);

/* ---- decoding (decode.c) ---- */
Onnx__ModelProto *ox_decode_model(const void *bytes, size_t n, const char *what, diag *d);
Onnx__TensorProto *ox_decode_tensor(const void *bytes, size_t n, const char *what, diag *d);
/* Free what ox_decode_* returned (NULL is fine): it was unpacked with
 * kiln's own malloc, so the fault-injection test covers it too. */
void ox_free_model(Onnx__ModelProto *m);
void ox_free_tensor(Onnx__TensorProto *t);

/* ---- structural checks (check.c) ---- */
/* The model's ir_version and opset_import list; `what` names the file.
 * Returns a kiln_status after reporting every problem. */
int ox_check_model(const Onnx__ModelProto *m, const char *what, diag *d);
/* Node n's outputs and attributes, and for a supported op (op not NULL)
 * its arity and the attributes it defines at n's opset. Reports every
 * problem through ox_error; false if any. */
bool ox_check_node(ox_ctx *cx, const ox_node *n, const ox_op *op);
/* n's domain is the default one or one the model imports. */
bool ox_check_domain(ox_ctx *cx, const ox_node *n);
/* Adds the names graph g defines (inputs, initializers, node outputs) to m
 * (values: 1). false when out of memory. */
struct ir_namemap;
bool ox_graph_names(const Onnx__GraphProto *g, struct ir_namemap *m);
/* Every name read inside the subgraphs of n's attributes (nested ones too)
 * is defined there or in an enclosing graph (`outer`: the names of the
 * graph holding n). */
bool ox_check_subgraphs(ox_ctx *cx, const ox_node *n, const struct ir_namemap *outer);
/* The type declared by vi (`what`: "graph input", "value_info") agrees with
 * the known shape s of `against` (e.g. "its initializer"): element type,
 * rank and fixed dimensions. Returns a kiln_status after reporting. */
int ox_check_declared(ox_ctx *cx, const Onnx__ValueInfoProto *vi, const ir_shape *s, const char *what,
                      const char *against);

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
  const Onnx__ModelProto *model; /* the model being imported */
  const char *base_dir;
  /* Node currently lowered, for messages. */
  const ox_node *cur;
  /* Per-instruction: known at import time? and its evaluated data. */
  uint8_t *is_const;
  void **const_data;
  uint32_t nconst; /* entries of is_const/const_data that are valid */
  uint32_t capconst;
  int errors;
  bool unsupported; /* a lowering refused a valid construct (ox_unsupported) */
  bool out_of_memory; /* a check ran out of memory (reported as an error) */
  /* Control flow (ops_control.c): the names of the main graph (import.c's
   * map, while its nodes are lowered), and the scope of the subgraph being
   * lowered (NULL in the main graph). */
  struct ir_namemap *values;
  void *scope;
  /* Sequence and optional values (ops_sequence.c), named by box ids. */
  struct ox_box *boxes;
  uint32_t nboxes, capboxes;
  /* The import's options (NULL: none), and per --max-shape entry whether a
   * lowering took it as the bound of a node output (ox_output_bound), so
   * that import.c can refuse the entries nothing used. */
  const onnx_options *opts;
  bool *bound_used;
};

/* Fills on for node nd (position index) of the graph being imported, at
 * the context's opset, with no inputs or outputs bound yet. */
void ox_init_node(ox_ctx *cx, ox_node *on, const Onnx__NodeProto *nd, int index);
/* The node's op exists at its opset, kiln lowers it (op not NULL), and the
 * op version that opset selects (versions.c) is one the lowering
 * implements. For the main graph's and subgraphs' nodes alike; false after
 * reporting. */
bool ox_check_version(ox_ctx *cx, const ox_node *n, const ox_op *op);
/* The --max-shape entry naming node output `name` (a size that values
 * decide, ops_datashape.c), marked as used; NULL when there is none. */
const onnx_binding *ox_output_bound(ox_ctx *cx, const char *name);
/* Reports an error about node n (name, op type, opset) and returns false. */
bool ox_error(ox_ctx *cx, const ox_node *n, const char *fmt, ...) DIAG_PRINTF(3, 4);
/* Like ox_error, and marks the failure as KILN_ERR_UNSUPPORTED (a valid
 * construct kiln cannot import) rather than as a shape error. */
bool ox_unsupported(ox_ctx *cx, const ox_node *n, const char *fmt, ...) DIAG_PRINTF(3, 4);
/* The node's display name: its name, or "#index (output 'x')". */
const char *ox_node_name(const ox_node *n, char *buf, size_t len);

/* ---- sequences and optionals (ops_sequence.c) ---- */
/* kiln's IR has static shapes and no sequence type, so a sequence or an
 * optional exists only while importing: a list of values (tensors, or for
 * an optional of a sequence another box) known element by element, and
 * never an IR value. Where an ir_id would stand (the name map, ox_node
 * in/out) it is named by a box id: OX_BOX_BIT | its index in cx->boxes.
 * Real ids never reach 2^31 (that many instructions would not fit in
 * memory), and IR_NONE is not a box. */
#define OX_BOX_BIT 0x80000000u
static inline bool ox_is_box(ir_id v) { return v != IR_NONE && (v & OX_BOX_BIT) != 0; }
/* "a sequence" or "an optional", for messages about box v. */
const char *ox_box_what(ox_ctx *cx, ir_id v);
/* Lowers node n with op (the main graph's and subgraphs' nodes alike):
 * boxes may only flow into the sequence and optional ops and Identity;
 * any other op given one is refused naming the input. */
bool ox_lower_node(ox_ctx *cx, const ox_op *op, ox_node *n);
/* Frees the boxes at the end of an import. */
void ox_boxes_free(ox_ctx *cx);
/* From ops_control.c, for SequenceMap: lowers subgraph `attr` of n into
 * the current computation (inlined: called once per element), its inputs
 * bound to in[0..nin) and its outputs returned in out[0..nout). */
bool ox_inline_graph(ox_ctx *cx, const ox_node *n, const char *attr, int nin, const ir_id *in, int nout, ir_id *out);
/* Checks the nodes of subgraph `attr` of n before anything is lowered. */
bool ox_check_graph(ox_ctx *cx, const ox_node *n, const char *attr);

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
/* The index of a string attribute's value (dflt if absent) in the
 * NULL-ended list `choices`; -1 after reporting a wrong type or a value
 * that is none of them ("attribute NAME='V' is not one of A, B, C"). */
int ox_attr_choice(ox_ctx *cx, const ox_node *n, const char *name, const char *dflt, const char *const *choices);

/* ---- helpers for lowering (lower.c) ---- */
/* A copy of v's shape. By value on purpose: a pointer into the
 * computation's instruction array goes stale as soon as an instruction is
 * added (the array moves), and lowerings build while they read shapes. */
static inline ir_shape ox_shape(ox_ctx *cx, ir_id v) { return *ir_shape_of(cx->c, v); }
/* Requires inputs 0..count-1 to be present; reports and returns false
 * otherwise. */
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
/* x sliced along one axis ([start, limit) by stride), whole along the rest. */
ir_id ox_slice_axis(ox_ctx *cx, ir_id x, int axis, int64_t start, int64_t limit, int64_t stride);

/* ---- reductions and windows (lower.c; used by the nn/reduce ops) ---- */
/* Reduces x over the n dimensions `dims` (any order, no repeats) with
 * comb; with keepdims the reduced dimensions stay, as size 1. */
ir_id ox_reduce(ox_ctx *cx, ir_id x, int n, const int64_t *dims, ir_combiner comb, bool keepdims);
/* Broadcasts r, a reduction of `like` over `dims` (with or without kept
 * size-1 dimensions), back to like's dimensions. */
ir_id ox_unreduce(ox_ctx *cx, ir_id r, ir_id like, int n, const int64_t *dims);
/* Broadcasts the 1-D x along dimension `dim` of a rank/dims result. */
ir_id ox_broadcast_along(ox_ctx *cx, ir_id x, int rank, const int64_t *dims, int64_t dim);
/* x converted to element type t (x itself when it has that type already;
 * IR_NONE passes through). */
ir_id ox_convert(ox_ctx *cx, ir_id x, ir_type t);
/* Check of a node's stash_type attribute (LayerNormalization's, reused by
 * GroupNormalization-21 and RMSNormalization): a floating-point ONNX type.
 * Defined in ops_nn.c; false after reporting. */
bool ox_check_stash_type(ox_ctx *cx, const ox_node *n);
/* A quantization parameter (scale or zero point) of the integer ops: a
 * scalar or 1-element tensor (per tensor), or, when axis >= 0, a 1-D tensor
 * of dims[axis] values (per axis); converted to type t and broadcast to
 * rank/dims. `what` names it in messages. */
ir_id ox_quant_param(ox_ctx *cx, const ox_node *n, ir_id v, ir_type t, int rank, const int64_t *dims, int axis,
                     const char *what);
/* Requires input v (named `what`) of an integer op to be u8 or i8. */
bool ox_need_8bit(ox_ctx *cx, const ox_node *n, ir_id v, const char *what);
/* v as i32 minus the zero point of input zi when present (per tensor, or
 * per index of dimension `axis` when axis >= 0; see ox_quant_param). */
ir_id ox_minus_zero_point(ox_ctx *cx, const ox_node *n, ir_id v, int zi, int axis, const char *what);
/* The output of QLinearConv and QLinearMatMul: the i32 accumulator acc
 * requantized with in[1] * in[4] / in[6] (the scales of a, b and y) and
 * zero point in[7], in in[7]'s type. a's scale may be per index of
 * dimension a_axis of acc, b's per index of b_axis (-1: per tensor only);
 * `a` and `b` name the inputs in messages ("x" gives "input x_scale"). */
ir_id ox_qlinear_output(ox_ctx *cx, const ox_node *n, ir_id acc, int a_axis, int b_axis, const char *a, const char *b);
/* Requantizes an integer accumulator: saturate(round_half_even(acc * scale)
 * + zero_point) in type out (u8/i8/...); scale (f32) and zero_point (i32,
 * or IR_NONE for 0) already have acc's dimensions. */
ir_id ox_requantize(ox_ctx *cx, ir_id acc, ir_id scale, ir_id zero_point, ir_type out);

/* ---- activations shared with the recurrent ops (ops_activation.c) ---- */
/* max(0, min(1, alpha * x + beta)) in x's type. */
ir_id ox_hard_sigmoid(ox_ctx *cx, ir_id x, double alpha, double beta);
/* log(1 + exp(x)), in a form that neither overflows nor underflows. */
ir_id ox_softplus(ox_ctx *cx, ir_id x);

/* ---- elementwise and tensor-op helpers (lower.c) ---- */
/* Broadcasts the k values of ids (replaced in place) to their common NumPy
 * shape; false after reporting a mismatch. */
bool ox_broadcast_all(ox_ctx *cx, const ox_node *n, ir_id *ids, int k);
/* Opset < 7 broadcasting of Add, Mul, Gemm's C, ...: with attribute
 * broadcast=1, b is aligned with a's dimensions from `axis` on (default:
 * trailing) and reshaped to a's rank so that NumPy broadcasting applies.
 * No-op for opset >= 7 or broadcast=0. */
bool ox_legacy_broadcast(ox_ctx *cx, const ox_node *n, ir_id a, ir_id *b);
/* Requires a floating-point value; reports naming `what` otherwise. */
bool ox_need_float(ox_ctx *cx, const ox_node *n, ir_id v, const char *what);
/* *out = a * b for dimension arithmetic (a, b >= 0); false after reporting
 * when it overflows. */
bool ox_dim_mul(ox_ctx *cx, const ox_node *n, int64_t a, int64_t b, int64_t *out);
/* Refuses (reporting) a result shape whose size overflows or exceeds the
 * 1 TiB kiln accepts for any tensor. */
bool ox_check_size(ox_ctx *cx, const ox_node *n, ir_type t, int rank, const int64_t *dims);

/* symbolic shapes (H4): helpers of lower.c that keep symbolic dimensions
 * (ir/symbolic.h): a shape's sym[] travels with its dims[]. */
/* IR broadcast of x to s's dimensions, expressions included; operand
 * dimension i becomes result dimension map[i] (NULL for a scalar x). */
ir_id ox_broadcast_shape(ox_ctx *cx, ir_id x, const ir_shape *s, const int64_t *map);
/* IR reshape of x to s's dimensions (x itself when they are x's). */
ir_id ox_reshape_shape(ox_ctx *cx, ir_id x, const ir_shape *s);
/* NumPy broadcasting of x to the dimensions of t (ox_broadcast_to with
 * expressions): a symbolic dimension goes only to itself. */
ir_id ox_broadcast_to_shape(ox_ctx *cx, const ox_node *n, ir_id x, const ir_shape *t);
/* ox_broadcast_along to t's dimensions. */
ir_id ox_broadcast_along_shape(ox_ctx *cx, ir_id x, const ir_shape *t, int64_t dim);
/* The size of dimension `dim` of x as a scalar of type t: a constant when
 * static, else get_dimension_size converted to t (a run-time value). */
ir_id ox_get_dim(ox_ctx *cx, ir_id x, int dim, ir_type t);
/* The product of x's dimensions dims[0..n) as a scalar of type t (the
 * element count a mean divides by), run-time values for symbolic ones. */
ir_id ox_count_dims(ox_ctx *cx, ir_id x, int n, const int64_t *dims, ir_type t);
/* Whether any dimension of s is symbolic. */
bool ox_is_symbolic(const ir_shape *s);
/* Dimension i of s as text: its expression or its size. Returns buf. */
char *ox_dim_str(ox_ctx *cx, const ir_shape *s, int i, char *buf, size_t n);
/* Refuses (ox_unsupported, false) when one of dimensions first..last of v
 * is symbolic: "<what> is f32[b,3,..]: dimension 0 (b) is symbolic, and
 * <why>; fix it with --input-shape". True when they are all static. */
bool ox_refuse_symbolic(ox_ctx *cx, const ox_node *n, ir_id v, int first, int last, const char *what,
                        const char *why);

/* symbolic shapes (H3): import-time symbolic evaluation of shape
 * subgraphs (symshape.c) and the symbolic forms of the tensor ops' shape
 * arithmetic. */
/* Like ox_const_ints, each element as a dimension expression: v may be
 * computed from symbolic dimensions (Shape of a symbolic tensor, then
 * Gather, Concat, Cast, arithmetic, ...). When v is known at import time,
 * exactly what ox_const_ints gives (as constant expressions). Returns the
 * count, or -1 after reporting (the usual "must be known at compile time"
 * when v depends on input data; otherwise naming the step that has no
 * dimension expression for every binding). */
int ox_const_dexprs(ox_ctx *cx, const ox_node *n, ir_id v, ir_dexpr *out, int max, const char *what);
/* Whether e[0..k) are all constants; their values in vals. */
bool ox_dexprs_all_const(ox_ctx *cx, const ir_dexpr *e, int k, int64_t *vals);
/* Sets dimension i of s to expression e (static when e is a constant);
 * false after reporting (naming node n and `what`) when e is 0 (an
 * overflow), may be negative or is unbounded. */
bool ox_set_dim(ox_ctx *cx, const ox_node *n, ir_shape *s, int i, ir_dexpr e, const char *what);
/* IR slice of x with starts and limits as expressions (symbolic ones go
 * into the attribute's start_sym/limit_sym); stride NULL: all 1. */
ir_id ox_slice_sym(ox_ctx *cx, ir_id x, const ir_dexpr *start, const ir_dexpr *limit, const int64_t *stride);
/* The product of dimensions from..to-1 of s as an expression (1 when
 * empty); 0 on overflow. */
ir_dexpr ox_dims_product(ox_ctx *cx, const ir_shape *s, int from, int to);
/* The expression q with q * b == a for every binding (a Reshape's -1),
 * or 0 when kiln finds none (b constant: an exact division; otherwise q a
 * constant times a product of symbols). */
ir_dexpr ox_dexpr_div_exact(ox_ctx *cx, ir_dexpr a, ir_dexpr b);
/* The comparison `a dir b` when the symbols' ranges decide it for every
 * binding: 1 (true), 0 (false); -1 when it differs between bindings. */
int ox_dexpr_decide(ox_ctx *cx, ir_cmp dir, ir_dexpr a, ir_dexpr b);
/* A Slice start or end i (positive step) on a dimension of size d: a
 * negative constant counts from the end, then clamped to [0, d]. 0 when
 * that is not one expression for every binding (a symbolic index that may
 * be negative, a clamp the ranges do not decide). */
ir_dexpr ox_slice_index(ox_ctx *cx, ir_dexpr i, ir_dexpr d);

/* data-dependent output sizes (ops_datashape.c): computed symbols
 * (ir/symbolic.h) given their values by set_symbol. */
/* Declares a computed symbol named after node n's first output and
 * `suffix` (y_count), 0 <= value <= bound, and emits the set_symbol giving
 * it count's value (an integer scalar or one-element tensor); returns its
 * expression, 0 after reporting. Call it before building anything whose
 * shape mentions the symbol. */
ir_dexpr ox_computed_size(ox_ctx *cx, const ox_node *n, ir_id count, int64_t bound, const char *suffix);
/* The gather dimension numbers that take slices of s along `axis` at a
 * 1-D index array (static slice sizes: 1 on the axis, s's elsewhere): the
 * result is s with the axis as long as the indices. */
void ox_gather_axis_dims(const ir_shape *s, int axis, ir_gather_dims *g);
/* The elements of rank-r x at full index vectors (the last dimension of
 * `full`, of size r): one element per index vector (ops_index.c). */
ir_id ox_gather_elements(ox_ctx *cx, ir_id x, ir_id full, int r);
/* x sliced to [0, limit) along `axis`, whole along the rest. */
ir_id ox_slice_axis_to(ox_ctx *cx, ir_id x, int axis, ir_dexpr limit);
/* NonZero of a run-time input: sets n->out[0]; false after reporting. */
bool ox_nonzero_dynamic(ox_ctx *cx, ox_node *n);
/* Compress with a run-time condition (n->in[1], a 1-D bool) of x (already
 * flattened without an axis) along `axis`: sets n->out[0]. */
bool ox_compress_dynamic(ox_ctx *cx, ox_node *n, ir_id x, int axis);
/* Whether v (not known at import time) reads the values of graph inputs,
 * not only their dimensions: then no dimension expression gives it and
 * only a bound makes a size it decides importable. The inputs' names are
 * appended to names[0..len) as 'a', 'b' (names may be NULL). */
bool ox_reads_data(ox_ctx *cx, ir_id v, char *names, size_t len);
/* The bound of node n's output 0, a size that run-time values decide: the
 * --max-shape entry naming it, of rank `rank`, into dims. false after
 * reporting: inside a subgraph (unsupported), no entry (naming the flag;
 * `inputs` lists the graph inputs the size depends on, as ox_reads_data
 * gives them), or an entry of another rank. */
bool ox_value_bound(ox_ctx *cx, const ox_node *n, int rank, int64_t *dims, const char *inputs);
/* Range(start, limit, delta) of run-time scalars (n->in[0..3), type t)
 * with at most `bound` elements: sets n->out[0]. */
bool ox_range_dynamic(ox_ctx *cx, ox_node *n, ir_type t, int64_t bound);
/* x (static dimensions, E elements) reshaped to `rank` dimensions given
 * by the i64 scalars dims[0..rank), run-time values: each becomes a
 * computed size (named after n's first output, _d0, _d1, ...) bounded by
 * `bound` (<= 0: E, or for E = 0 x's largest dimension). `ok` is
 * the caller's validity predicate (a pred scalar); the run stops, with
 * "node NAME (OP): <what>", unless ok holds, every dimension is >= 0 and
 * their product is E. Returns the result (one gather of x's elements), or
 * IR_NONE after reporting. Entry computation only (ox_computed_size). */
ir_id ox_reshape_computed(ox_ctx *cx, const ox_node *n, ir_id x, int rank, const ir_id *dims, int64_t bound, ir_id ok,
                          const char *what);

#endif

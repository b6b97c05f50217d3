/*
 * The kiln IR: modules, computations, instructions.
 *
 * Invariants (checked by ir_verify):
 *   - A module owns its computations and everything they point to; all of it
 *     lives in the module's arena (instruction arrays are the one exception:
 *     they grow with realloc and are freed with the module).
 *   - An instruction is named by its 32-bit id, its index in the
 *     computation's instruction array. Operands precede their users: every
 *     operand id is smaller than the user's id. Passes that append and
 *     redirect call ir_comp_canonicalize() to restore this.
 *   - Instruction names are unique within the module.
 *   - An instruction's shape is what ir_infer_shape() says it is (layout
 *     aside: layouts are free to differ and never change a value's meaning).
 *   - Constant data is held in logical row-major order, whatever the layout.
 *   - The entry computation's root is a tuple; its elements are the outputs,
 *     named by the computation's output_names.
 */
#ifndef KILN_IR_IR_H
#define KILN_IR_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/arena.h"
#include "ir/diag.h"
#include "ir/types.h"

typedef uint32_t ir_id;
#define IR_NONE UINT32_MAX

/* Property flags of the op table. */
enum {
  IR_F_ELEMENTWISE = 1 << 0,
  IR_F_COMMUTATIVE = 1 << 1,
  IR_F_TRANSCENDENTAL = 1 << 2,
  IR_F_RESULT_PRED = 1 << 3,
};

/* Shape-rule families of the op table. */
typedef enum ir_family {
  IR_FAM_PARAMETER, IR_FAM_CONSTANT, IR_FAM_IOTA, IR_FAM_UNARY, IR_FAM_BINARY,
  IR_FAM_COMPARE, IR_FAM_SELECT, IR_FAM_CLAMP, IR_FAM_CONVERT, IR_FAM_BROADCAST,
  IR_FAM_RESHAPE, IR_FAM_TRANSPOSE, IR_FAM_SLICE, IR_FAM_DYNAMIC_SLICE,
  IR_FAM_DYNAMIC_UPDATE_SLICE, IR_FAM_CONCATENATE, IR_FAM_PAD, IR_FAM_REVERSE,
  IR_FAM_GATHER, IR_FAM_SCATTER, IR_FAM_REDUCE, IR_FAM_REDUCE_WINDOW, IR_FAM_DOT,
  IR_FAM_CONVOLUTION, IR_FAM_SORT, IR_FAM_TUPLE, IR_FAM_GET_TUPLE_ELEMENT,
  IR_FAM_FUSION, IR_FAM_CUSTOM_CALL, IR_FAM_CONDITIONAL, IR_FAM_WHILE, IR_FAM_GET_DIMENSION_SIZE, IR_FAM_SET_SYMBOL, IR_FAM_ASSERT,
} ir_family;

typedef enum ir_op {
#define OP(e, kw, mn, mx, fam, ty, fl) IR_OP_##e,
#include "ir/ops.def"
  IR_OP_COUNT
} ir_op;

typedef struct ir_op_info {
  const char *name;
  int min_operands, max_operands; /* max -1: unbounded */
  ir_family family;
  char types;
  unsigned flags;
} ir_op_info;

const ir_op_info *ir_op_get(ir_op op);
const char *ir_op_name(ir_op op);
bool ir_op_from_name(const char *s, size_t n, ir_op *out);

typedef enum ir_cmp { IR_CMP_EQ, IR_CMP_NE, IR_CMP_LT, IR_CMP_LE, IR_CMP_GT, IR_CMP_GE } ir_cmp;
const char *ir_cmp_name(ir_cmp c); /* "EQ", ... */

/* Combiners of reduce, reduce_window and scatter. The initial value of a
 * reduction is the combiner's identity (0, 1, -inf/lowest, +inf/highest,
 * true, false); reduce_window pads with it too. ASSIGN is scatter-only. */
typedef enum ir_combiner {
  IR_COMB_ADD, IR_COMB_MUL, IR_COMB_MAX, IR_COMB_MIN, IR_COMB_AND, IR_COMB_OR, IR_COMB_ASSIGN,
} ir_combiner;
const char *ir_combiner_name(ir_combiner c);

typedef enum ir_fusion_kind { IR_FUSION_LOOP, IR_FUSION_INPUT, IR_FUSION_OUTPUT } ir_fusion_kind;
const char *ir_fusion_kind_name(ir_fusion_kind k);

/* Window of reduce_window (one entry per operand dimension) and of
 * convolution (one entry per spatial dimension). lhs_dilate dilates the
 * input (base), rhs_dilate the window. Padding may be negative. */
typedef struct ir_window_dim {
  int64_t size, stride, pad_lo, pad_hi, lhs_dilate, rhs_dilate;
} ir_window_dim;
typedef struct ir_window {
  int rank;
  ir_window_dim d[IR_MAX_RANK];
} ir_window;

/* Convolution dimension numbers, printed as dim_labels=b01f_01io->b01f. */
typedef struct ir_conv_dims {
  int nspatial;
  int64_t in_batch, in_feature, in_spatial[IR_MAX_RANK];
  int64_t k_in, k_out, k_spatial[IR_MAX_RANK];
  int64_t out_batch, out_feature, out_spatial[IR_MAX_RANK];
} ir_conv_dims;

typedef struct ir_dot_dims {
  int nbatch, ncontract;
  int64_t lhs_batch[IR_MAX_RANK], rhs_batch[IR_MAX_RANK];
  int64_t lhs_contract[IR_MAX_RANK], rhs_contract[IR_MAX_RANK];
} ir_dot_dims;

/* XLA gather semantics (operand, start_indices). */
typedef struct ir_gather_dims {
  int noffset, ncollapsed, nstart_map;
  int64_t offset_dims[IR_MAX_RANK];
  int64_t collapsed_slice_dims[IR_MAX_RANK];
  int64_t start_index_map[IR_MAX_RANK];
  int64_t index_vector_dim;
  int64_t slice_sizes[IR_MAX_RANK]; /* one per operand dimension */
  uint32_t slice_sizes_sym[IR_MAX_RANK]; /* 0, or an ir_dexpr: that size is symbolic (slice_sizes holds its bound) */
} ir_gather_dims;

/* XLA scatter semantics (operand, scatter_indices, updates). */
typedef struct ir_scatter_dims {
  int nwindow, ninserted, nscatter_map;
  int64_t update_window_dims[IR_MAX_RANK];
  int64_t inserted_window_dims[IR_MAX_RANK];
  int64_t scatter_dims_to_operand_dims[IR_MAX_RANK];
  int64_t index_vector_dim;
} ir_scatter_dims;

/* A start or limit may be symbolic (start_sym/limit_sym nonzero: an
 * ir_dexpr; start/limit then hold its bound); strides are static. */
typedef struct ir_slice_attr {
  int64_t start[IR_MAX_RANK], limit[IR_MAX_RANK], stride[IR_MAX_RANK];
  uint32_t start_sym[IR_MAX_RANK], limit_sym[IR_MAX_RANK];
} ir_slice_attr;

typedef struct ir_pad_attr {
  int64_t lo[IR_MAX_RANK], hi[IR_MAX_RANK], interior[IR_MAX_RANK];
} ir_pad_attr;

/* Where an instruction came from: the ONNX node's op type and name. */
typedef struct ir_loc {
  const char *op_type; /* may be NULL */
  const char *name;    /* may be NULL */
} ir_loc;

typedef struct ir_inst {
  ir_op op;
  const char *name;
  ir_shape shape;       /* element type IR_TUPLE for tuple-shaped results */
  uint32_t ntuple;      /* tuple element shapes, when shape.type == IR_TUPLE */
  ir_shape *tuple;
  uint32_t nops;
  ir_id *ops;
  ir_loc loc;

  /* Attributes; which ones are meaningful depends on the op family. */
  uint32_t ndims;
  int64_t dims[IR_MAX_RANK]; /* dimensions={...}: broadcast, transpose, reduce,
                                reverse, concatenate, sort; dynamic_slice sizes */
  int64_t index;      /* parameter number, tuple index, iota dimension,
                         feature_group_count, get_dimension_size dimension */
  ir_cmp cmp;         /* compare */
  ir_combiner comb;   /* reduce, reduce_window, scatter */
  bool descending;    /* sort */
  ir_fusion_kind fusion_kind;
  uint32_t called;    /* fusion: computation index; conditional: the true
                         branch; while: the condition */
  uint32_t called2;   /* conditional: the false branch; while: the body */
  const char *io_name;     /* entry parameter: the model's input name */
  const char *target;      /* custom_call */
  const char *config;      /* custom_call backend config, may be NULL */
  void *data;              /* constant: logical row-major bytes */
  union {
    ir_slice_attr *slice;
    ir_pad_attr *pad;
    ir_window *window;         /* reduce_window; convolution (with conv) */
    ir_dot_dims *dot;
    ir_gather_dims *gather;
    ir_scatter_dims *scatter;
  } a;
  ir_conv_dims *conv;          /* convolution */
} ir_inst;

typedef struct ir_comp {
  const char *name;
  bool is_entry;
  bool keep_order; /* set by the schedule and buffers passes: canonicalization
                      keeps the instruction order while it stays topological */
  ir_inst *insts;
  uint32_t ninsts, cap;
  ir_id root;
  uint32_t noutputs;         /* entry: number of outputs */
  const char **output_names; /* entry: one per root tuple element */
} ir_comp;

/*
 * The buffer plan (passes/buffers.c, docs/passes.md): where every array
 * value of the entry computation lives. A value is one array an
 * instruction produces (a tuple-shaped instruction has one per element);
 * values are numbered in instruction order, instruction i's from first[i].
 * Live ranges are launch positions (entry instruction ids): a value is
 * written at `def` (its instruction) and last read at `last` (ninsts: read
 * by the output copies at the end). Storage is the value's own (parameter,
 * constant, output, workspace temp) or another value's:
 *
 *   ALIAS     the same bytes as `of` (tuple, get_tuple_element, a reshape
 *             between row-major arrays)
 *   IN_PLACE  written into `of`'s bytes, `of` dying at this launch
 *   SLICE     bytes [offset, offset + size) of `of`, a concatenate's result
 *             that its producers write straight into
 *
 * Workspace temps are 64-byte aligned at `offset` in [0, workspace). The
 * verifier checks that the plan matches the entry computation and that no
 * two storages live at one launch share a byte. Kernel scratch is not in
 * the plan: the backend places it at emission (codegen/cg_module.c).
 */
typedef enum ir_buf_kind {
  IR_BUF_PARAMETER, IR_BUF_CONSTANT, IR_BUF_OUTPUT, IR_BUF_TEMP, IR_BUF_ALIAS, IR_BUF_IN_PLACE, IR_BUF_SLICE,
} ir_buf_kind;
typedef struct ir_buf {
  ir_buf_kind kind;
  uint32_t of;      /* ALIAS, IN_PLACE, SLICE: the value whose storage this is */
  int64_t index;    /* PARAMETER: parameter number; OUTPUT: output number */
  int64_t offset;   /* TEMP: in the workspace; SLICE: in `of`; otherwise 0 */
  int64_t size;     /* bytes */
  int64_t def, last;
} ir_buf;
typedef struct ir_plan {
  uint32_t ninsts, nvals;
  uint32_t *first;   /* [ninsts + 1] */
  ir_buf *bufs;      /* [nvals] */
  int64_t workspace; /* bytes of workspace the temps need (a multiple of 64) */
} ir_plan;

typedef struct ir_module {
  arena arena;
  const char *name;
  ir_comp **comps;
  uint32_t ncomps, capcomps;
  int32_t entry; /* index of the entry computation, -1 if none */
  uint64_t next_name; /* suffix for generated names */
  ir_plan *plan;      /* the entry's buffer plan, NULL if none (owned, ir/plan.c) */
  struct ir_symtab *syms; /* symbols and dimension expressions (ir/symbolic.h), NULL if none */
} ir_module;

/* Creates an empty module; caller owns it, frees with ir_module_destroy. */
ir_module *ir_module_create(const char *name);
void ir_module_destroy(ir_module *m);
/* Adds a computation (owned by the module) and returns it. */
ir_comp *ir_comp_add(ir_module *m, const char *name, bool is_entry);
ir_comp *ir_module_entry(const ir_module *m);
int ir_module_find_comp(const ir_module *m, const char *name);

static inline ir_inst *ir_get(const ir_comp *c, ir_id id) { return &c->insts[id]; }
static inline const ir_shape *ir_shape_of(const ir_comp *c, ir_id id) { return &c->insts[id].shape; }

/* Whether x is one of v[0..n): dimension lists of attributes (dot, gather,
 * scatter, reduce) are searched this way. */
static inline bool ir_dims_has(const int64_t *v, int n, int64_t x) {
  for (int i = 0; i < n; i++)
    if (v[i] == x) return true;
  return false;
}

/* The computations instruction `in` calls (fusion: 1; conditional: true
 * then false branch; while: condition then body), written to out; returns
 * how many. Passes that follow calls (dce, print, extract, verify) use this
 * so that every calling op is handled alike. */
static inline int ir_inst_callees(const ir_inst *in, uint32_t out[2]) {
  switch (in->op) {
    case IR_OP_FUSION: out[0] = in->called; return 1;
    case IR_OP_CONDITIONAL:
    case IR_OP_WHILE: out[0] = in->called, out[1] = in->called2; return 2;
    default: return 0;
  }
}

/* Number of parameters of a computation and the id of parameter i. */
uint32_t ir_comp_num_params(const ir_comp *c);
ir_id ir_comp_param(const ir_comp *c, int64_t number);

/* Appends a copy of `proto` (arrays copied into the arena) without any
 * checking and returns its id; the name is generated when proto->name is
 * NULL. Returns IR_NONE when out of memory. */
ir_id ir_comp_append(ir_module *m, ir_comp *c, const ir_inst *proto);

/* Generates a fresh module-unique name "<base>.<n>". */
const char *ir_fresh_name(ir_module *m, const char *base);

/* Replaces every use of `from` by `to` in computation c (roots included). */
void ir_replace_uses(ir_comp *c, ir_id from, ir_id to);

/* Restores the invariants after a pass: sorts instructions topologically
 * (keeping the current relative order where it is already valid), drops
 * instructions not reachable from the root (parameters always stay), and
 * renumbers. Returns false when out of memory or on a cycle. */
bool ir_comp_canonicalize(ir_module *m, ir_comp *c);
/* Computed symbols (ir/symbolic.h): an instruction that mentions one
 * depends on the set_symbol giving it its value, although no operand says
 * so. Those extra edges of c as CSR arrays: the set_symbols instruction i
 * depends on are dep[start[i] .. start[i+1]) (distinct); *start and *dep
 * NULL when c has none. Both malloc'd; false on out of memory. */
bool ir_comp_symbol_deps(const ir_module *m, const ir_comp *c, uint32_t **start, uint32_t **dep);

/* Shape inference: the single rule book used by the builder, the parser and
 * the verifier. For ops whose result is partly given (parameter, constant,
 * iota, reshape, broadcast, convert, custom_call, dot/convolution result
 * type) the given part is read from inst->shape. On success writes the
 * result shape (and the tuple element shapes, arena-allocated, for tuple
 * results) and returns true; otherwise writes a message into err. */
bool ir_infer_shape(ir_module *m, const ir_comp *c, const ir_inst *inst, ir_shape *out,
                    ir_shape **tuple, uint32_t *ntuple, char *err, size_t errn);
/* Whether inst's declared result has the element types and dimensions of
 * the result s (with tuple[0..nt) for a tuple) that ir_infer_shape gave;
 * layouts are not compared. */
bool ir_result_matches(const ir_inst *inst, const ir_shape *s, const ir_shape *tuple, uint32_t nt);
/* A result as text into buf (n bytes): an array shape as ir_shape_str
 * writes it, a tuple as "(s1, s2, ...)". Returns buf. */
char *ir_result_str(const ir_shape *s, const ir_shape *tuple, uint32_t nt, char *buf, size_t n);

/* Checks every invariant of the module; reports each problem to d naming the
 * computation, the instruction and the rule. Returns true if valid. */
bool ir_verify(ir_module *m, diag *d);

/* Text form (docs/ir.md). Names are identifiers, [A-Za-z0-9_.-]+, so that
 * they can be printed bare after '%'. */
static inline bool ir_is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}
static inline bool ir_is_ident(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (!ir_is_ident_char(*s)) return false;
  return true;
}
typedef struct ir_print_opts {
  int64_t elide_constants_over; /* print constants with more elements as {...}; 0: never */
} ir_print_opts;
/* Returns a malloc'd NUL-terminated string the caller frees; NULL if out of memory. */
char *ir_print_module(const ir_module *m, const ir_print_opts *opts);
/* Parses text (length n, file name used in messages). Returns a verified
 * module the caller owns, or NULL after reporting "file:line:col: ..." to d. */
ir_module *ir_parse_module(const char *text, size_t n, const char *file, diag *d);

/* Buffer plans (ir/plan.c). ir_plan_alloc returns a zeroed plan for ninsts
 * instructions and nvals values (NULL if out of memory); ir_plan_free frees
 * one. ir_module_set_plan hands `p` (may be NULL) to the module, freeing the
 * old plan: every pass that changes the entry computation after `buffers`
 * drops the plan this way (passes/pipeline.c). */
ir_plan *ir_plan_alloc(uint32_t ninsts, uint32_t nvals);
void ir_plan_free(ir_plan *p);
void ir_module_set_plan(ir_module *m, ir_plan *p);
ir_plan *ir_plan_clone(const ir_plan *p);
/* The arrays instruction `in` produces: one, or one per tuple element. */
static inline uint32_t ir_num_values(const ir_inst *in) { return in->shape.type == IR_TUPLE ? in->ntuple : 1; }
/* The value whose storage holds value v (following ALIAS, IN_PLACE and
 * SLICE), and v's byte offset in it. */
uint32_t ir_plan_storage(const ir_plan *p, uint32_t v, int64_t *offset);
/* The launch interval [*lo, *hi] over which each storage value is in use:
 * the union of the live ranges of every value stored in it (lo/hi are
 * [nvals] arrays; entries of non-storage values are left as their own). */
void ir_plan_storage_ranges(const ir_plan *p, int64_t *lo, int64_t *hi);
/* def and last of every value (arrays of nvals) as they follow from the
 * entry computation e and the plan's ALIAS links and outputs. */
void ir_plan_liveness(const ir_comp *e, const ir_plan *p, int64_t *def, int64_t *last);
/* Checks m->plan against the entry computation (called by ir_verify). */
bool ir_plan_verify(const ir_module *m, diag *d);
/* Appends the plan's text form to the printer's buffer (ir/print.c). */
struct strbuf;
void ir_plan_print(struct strbuf *b, const ir_module *m);

/* Clones a whole module (deep copy). Caller owns the result. */
ir_module *ir_module_clone(const ir_module *m);

#endif

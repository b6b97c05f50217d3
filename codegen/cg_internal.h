/*
 * Internals shared by the code generator's files: the shared core
 * (codegen/cg_*.c) and the backends (codegen/cpu/, codegen/gpu/), which
 * the core reaches only through cg_backend.h.
 *
 * Values: every IR element type has a memory type (how it is stored) and a
 * register type (how generated code computes with it):
 *
 *   type       memory     register
 *   pred       i8 (0/1)   i1
 *   iN / uN    iN         iN        (signedness lives in the ops)
 *   f16        half       float     (rounded to f16 after every op)
 *   bf16       i16 bits   float     (rounded to bf16 after every op)
 *   f32, f64   float/dbl  float/dbl
 *
 * Indices: a cg_index is a logical multi-index (one i64 per dimension of
 * the array it indexes), optionally with a precomputed physical offset
 * `linear` valid for arrays whose dimensions and layout equal `lin`. Loads
 * use the offset when the buffer matches and compute one from the
 * multi-index otherwise, which is what lets elementwise chains over equal
 * shapes index with one add instead of a dot product of strides.
 *
 * A kernel (cg_kernel) is one LLVM function computing one fusion (or one
 * instruction standing in for a fusion of one): `buf[id]` is set for the
 * instructions whose values are read from memory (the fusion's parameters,
 * or a lone instruction's operands); every other instruction is computed
 * on the fly by the elemental emitter (cg_elem), recursively.
 */
#ifndef KILN_CODEGEN_CG_INTERNAL_H
#define KILN_CODEGEN_CG_INTERNAL_H

#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include "codegen/cg.h"
#include "ir/strbuf.h"
#include "ir/symbolic.h"


typedef struct cg_kfn cg_kfn;

typedef struct cg_const_ref {
  uint32_t comp;
  ir_id id;
  LLVMValueRef global;
} cg_const_ref;

/* Device code an artifact carries beside the host module (a GPU
 * backend's PTX or cubin); none on CPU. */
typedef struct cg_image {
  char *name, *kind; /* kind: e.g. "ptx", "cubin" */
  void *bytes;
  size_t len;
} cg_image;

typedef struct cg_images {
  cg_image *v;
  uint32_t n, cap;
} cg_images;

/* Per-compilation state. */
typedef struct cg_ctx {
  const ir_module *m;
  const cg_options *o;
  diag *d;
  bool failed;

  LLVMContextRef llc;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMTargetDataRef td;
  /* The backend (cg_backend.h) and its own state, which only it reads. */
  const struct cg_backend *backend;
  void *be;
  /* Levels: code variants of one module (the CPU's --cpu=portable builds
   * x86-64-v2, -v3 and -v4); cg_module.c builds the kernels and run
   * function once per level, after the backend's set_level. */
  int nlevels;
  ir_target target; /* the current level's description (the backend's set_level) */

  LLVMTypeRef t_void, t_i1, t_i8, t_i16, t_i32, t_i64, t_half, t_f32, t_f64, t_ptr;

  cg_kfn *kfns;
  uint32_t nkfns, capkfns;
  cg_const_ref *consts;
  uint32_t nconsts, capconsts;
  uint32_t nfn;                /* counter for generated function names */
  /* Symbolic dimensions (ir/symbolic.h; docs/codegen.md, "Symbolic
   * dimensions"): `symbolic` when the module has any; then every kernel
   * body, units function and run function takes the binding, a pointer to
   * i64[nsyms] (symbol k's value at index k), and `bind` is that parameter
   * of the function being built (NULL elsewhere and in static modules). */
  bool symbolic;
  LLVMValueRef bind;
} cg_ctx;

/* A logical multi-index (see the top of this file). */
typedef struct cg_index {
  int rank;
  LLVMValueRef d[IR_MAX_RANK];
  LLVMValueRef linear; /* NULL when unknown */
  ir_shape lin;        /* dims and layout `linear` is valid for */
  uint64_t uid;        /* identity for the memo; 0: never memoised */
} cg_index;

typedef struct cg_memo {
  uint32_t frame;
  ir_id id;
  uint64_t uid;
  LLVMValueRef v;
} cg_memo;

/* A computation being expanded inside a kernel. A fusion instruction met in
 * element code (a fusion nested in a fused computation) pushes a frame for
 * its computation; that computation's parameters are its operands,
 * evaluated in the caller's frame at the same index. */
typedef struct cg_frame {
  const ir_comp *comp;
  LLVMValueRef *buf;        /* [comp->ninsts]: materialized values */
  const ir_shape **bshape;  /* [comp->ninsts]: their buffer shapes */
  const ir_inst *call;      /* the fusion instruction that called comp (nested frames) */
  const struct cg_frame *up;
  uint32_t id;              /* memo key: frames differ even for one computation */
} cg_frame;

/* One kernel being emitted. comp/buf/bshape/call/up/frame are the current
 * frame (the kernel's own computation unless a nested fusion is expanded). */
typedef struct cg_kernel {
  cg_ctx *c;
  LLVMValueRef fn;
  const ir_comp *comp;
  LLVMValueRef *buf;
  const ir_shape **bshape;
  const ir_inst *call;
  const cg_frame *up;
  uint32_t frame, nframes;
  cg_memo *memo;
  uint32_t nmemo, capmemo;
  uint64_t next_uid;
} cg_kernel;

/* What to generate for one launch. */
typedef struct cg_kdesc {
  const ir_comp *comp;          /* where the root lives (a fused computation or the entry) */
  uint32_t comp_index;          /* its index in the module */
  ir_id root;
  uint32_t nin;
  const ir_id *in_ids;          /* ids in comp read from memory */
  const ir_shape *const *in_shapes; /* their buffer shapes */
  uint32_t nout;
  const ir_shape *out_shapes;   /* nout buffer shapes (the root's, or its tuple's) */
  const ir_inst *inst;          /* the entry instruction being launched (for messages) */
  uint32_t in_place;            /* bit i: input i is output 0's buffer (the buffer plan's
                                   in-place reuse): read through output 0's pointer */
  bool symbolic;                /* the module is symbolic: the body takes the binding */
} cg_kdesc;

/* One parallel loop of a launch. */
typedef struct cg_phase {
  LLVMValueRef task; /* void(ptr args, i64 begin, i64 end) */
  int64_t n;         /* iterations of the parallel loop (at the bounds when `units` is set) */
  LLVMValueRef units; /* symbolic modules: i64(ptr bind), the iterations at run time (<= n); NULL: n */
  double cost;       /* rough operations per iteration */
  bool serial;       /* must run as one call task(args, 0, n) */
} cg_phase;

/* What the entry function needs to launch a kernel: its phases, run in
 * order with one argument array
 *   args = { out0.., in0.., scratch }           (static modules)
 *   args = { out0.., in0.., scratch, bind }     (symbolic modules)
 * scratch: workspace bytes the kernel needs during the launch (NULL if 0).
 * Weights a GEMM reads packed are inputs like any other: the layout pass
 * stored them in the kernel's panels (their own globals). */
#define CG_MAX_PHASES 3
typedef struct cg_launch {
  cg_phase ph[CG_MAX_PHASES];
  uint32_t nphase;
  int64_t scratch;
  const char *kind; /* what the backend made, for kernel tables: "gemm", "loop", ...; NULL: "loop" */
} cg_launch;

/* Globals of the trace hook (docs/codegen.md, "Instrumentation"): the
 * hook void(ptr user, i32 kernel, i32 phase, i32 thread, ptr buffers), its
 * user pointer, and the i32 index of the kernel being launched. A backend
 * runtime that reports its threads' work defines them (zero); otherwise
 * cg_module.c adds them to an instrumented module. */
#define CG_TRACE_HOOK "kiln_trace_hook"
#define CG_TRACE_USER "kiln_trace_user"
#define CG_TRACE_KERNEL "kiln_trace_kernel"

/* Parameter positions of a kernel body (see cg_kernel.c). */
static inline unsigned cg_arg_scratch(const cg_kdesc *d) { return d->nout + d->nin; }
/* The binding (symbolic modules only). */
static inline unsigned cg_arg_bind(const cg_kdesc *d) { return d->nout + d->nin + 1; }
static inline unsigned cg_arg_lo(const cg_kdesc *d) { return d->nout + d->nin + 1 + d->symbolic; }
static inline unsigned cg_arg_hi(const cg_kdesc *d) { return d->nout + d->nin + 2 + d->symbolic; }

/* A generated kernel, shared by every launch with the same key (the key
 * may hold constant bytes, NULs included: compare with keylen). */
struct cg_kfn {
  char *key;
  size_t keylen;
  cg_launch launch;
};

/* ---- cg_util.c ------------------------------------------------------- */

bool cg_fail(cg_ctx *c, const char *fmt, ...) DIAG_PRINTF(2, 3);
/* cg_fail for a module that needs what code generation for symbolic
 * dimensions does not support yet (cg_options.unsupported). */
bool cg_fail_unsupported(cg_ctx *c, const char *fmt, ...) DIAG_PRINTF(2, 3);
LLVMTypeRef cg_mtype(cg_ctx *c, ir_type t);
LLVMTypeRef cg_vtype(cg_ctx *c, ir_type t);
LLVMValueRef cg_i64(cg_ctx *c, int64_t v);
LLVMValueRef cg_i32(cg_ctx *c, int32_t v);
/* A register-typed constant from a double or an integer. */
LLVMValueRef cg_const_f(cg_ctx *c, ir_type t, double v);
LLVMValueRef cg_const_i(cg_ctx *c, ir_type t, int64_t v);
/* Element i of logical row-major literal data, as a register constant. */
LLVMValueRef cg_const_elem(cg_ctx *c, ir_type t, const void *data, int64_t i);
/* Rounds a register float to the precision of t (f16, bf16); else v. */
LLVMValueRef cg_round(cg_ctx *c, ir_type t, LLVMValueRef v);
LLVMValueRef cg_load(cg_ctx *c, ir_type t, LLVMValueRef base, LLVMValueRef offset);
void cg_store(cg_ctx *c, ir_type t, LLVMValueRef base, LLVMValueRef offset, LLVMValueRef v);
/* Element strides of the physical order of s (layout respected). For a
 * panel layout strides[panel_dim] is 1 (the position inside a panel) and
 * the stride of a whole panel is returned: index i of that dimension is at
 * i / panel · return + i % panel. Returns 0 without panels. */
int64_t cg_phys_strides(const ir_shape *s, int64_t *strides);
/* Physical element offset of ix within an array of shape s. */
LLVMValueRef cg_offset(cg_ctx *c, const ir_shape *s, const cg_index *ix);
/* Row-major linear index of ix over dims (ix.rank entries). */
LLVMValueRef cg_rowmajor(cg_ctx *c, const int64_t *dims, const cg_index *ix);
/* Splits a row-major linear index over dims into ix->d. */
void cg_delinearize(cg_ctx *c, LLVMValueRef linear, int rank, const int64_t *dims, cg_index *ix);
/* The same over the dimensions of s, symbolic ones from the binding. */
LLVMValueRef cg_rowmajor_shape(cg_ctx *c, const ir_shape *s, const cg_index *ix);
void cg_delinearize_shape(cg_ctx *c, LLVMValueRef linear, const ir_shape *s, cg_index *ix);
/* A new index of `rank` dimensions (entries to be filled in) with a fresh
 * identity for the memo. */
void cg_index_init(cg_kernel *k, cg_index *ix, int rank);

/* Counted loop [lo, hi) with an i64 induction variable. open positions the
 * builder in the body; close branches back and positions it after the loop. */
typedef struct cg_loop {
  LLVMBasicBlockRef header, body, exit, pre;
  LLVMValueRef iv;
  bool small; /* a known trip count <= 16: LLVM may unroll it */
} cg_loop;
LLVMValueRef cg_loop_open(cg_ctx *c, cg_loop *l, LLVMValueRef lo, LLVMValueRef hi, const char *name);
void cg_loop_close(cg_ctx *c, cg_loop *l);
/* An alloca in the kernel's entry block (so SROA/mem2reg promote it). */
LLVMValueRef cg_alloca(cg_ctx *c, LLVMValueRef fn, LLVMTypeRef t, const char *name);
/* A call of the overloaded intrinsic `name` on types tys[0..ntys). */
LLVMValueRef cg_intrinsic(cg_ctx *c, const char *name, LLVMTypeRef *tys, unsigned ntys, LLVMValueRef *args,
                          unsigned nargs);
/* A call of an external C function of type ret(args' types). */
LLVMValueRef cg_call_extern(cg_ctx *c, const char *name, LLVMTypeRef ret, LLVMValueRef *args, unsigned nargs);
/* A call of a math library function, lowered by the backend (libm on
 * CPU): name is the C name (expf, atan2). */
LLVMValueRef cg_call_math(cg_ctx *c, const char *name, LLVMTypeRef ret, LLVMValueRef *args, unsigned nargs);
/* Sets the backend's target attributes and the usual ones on a generated
 * function; cg_fn_attrs_baseline for code that must run on any CPU of the
 * architecture (the checks before the kernels). */
void cg_fn_attrs(cg_ctx *c, LLVMValueRef fn);
void cg_fn_attrs_baseline(cg_ctx *c, LLVMValueRef fn);
/* kiln_NAME_SUFFIX, exported, with cg_fn_attrs or (baseline) cg_fn_attrs_baseline. */
LLVMValueRef cg_exported_fn(cg_ctx *c, const char *suffix, LLVMTypeRef ty, bool baseline);
/* A private constant global holding init; a private C string. */
LLVMValueRef cg_private_const(cg_ctx *c, LLVMValueRef init, const char *name);
LLVMValueRef cg_cstring(cg_ctx *c, const char *s);
/* Whether two target triples name the same architecture, OS and
 * environment (the vendor does not matter: x86_64-linux-gnu is
 * x86_64-pc-linux-gnu). */
bool cg_same_platform(const char *a, const char *b);
/* Appends a copy of an image to imgs. False (reported) when out of memory. */
bool cg_images_add(cg_ctx *c, cg_images *imgs, const char *name, const char *kind, const void *bytes, size_t len);
void cg_images_free(cg_images *imgs);
LLVMValueRef cg_add_function(cg_ctx *c, const char *prefix, LLVMTypeRef ty, bool internal);
/* Clamp an i64 value to [lo, hi] (signed). */
LLVMValueRef cg_clamp_i64(cg_ctx *c, LLVMValueRef v, LLVMValueRef lo, LLVMValueRef hi);
/* The smaller of two i64 values (signed). */
LLVMValueRef cg_min_i64(cg_ctx *c, LLVMValueRef a, LLVMValueRef b);
/* The q in [0, n) for which start + q·stride lies in [0, w), as [*lo, *hi)
 * (*lo == *hi when none; stride > 0): the output columns whose window tap
 * reads an input column of a row of width w rather than padding, computed
 * once instead of tested per element. */
void cg_inside_span(cg_ctx *c, LLVMValueRef start, int64_t stride, int64_t w, LLVMValueRef n, LLVMValueRef *lo,
                    LLVMValueRef *hi);
/* A read-only global of `bytes` bytes of data (private, unnamed_addr,
 * 64-byte aligned): constants and weights packed at compile time. */
LLVMValueRef cg_const_bytes(cg_ctx *c, const void *data, size_t bytes, const char *name);
/* An integer scalar value of type t as i64 (sign- or zero-extended). */
LLVMValueRef cg_to_i64(cg_ctx *c, ir_type t, LLVMValueRef v);
/* A vector of n copies of the scalar v. */
LLVMValueRef cg_splat(cg_ctx *c, LLVMValueRef v, unsigned n);

/* ---- symbolic dimensions (values: cg_util.c; the rest: cg_symbolic.c) -- */

/* The i64 value of expression e at the builder, read from c->bind. */
LLVMValueRef cg_dexpr_value(cg_ctx *c, ir_dexpr e);
/* Dimension i of s: a constant when static, else its expression's value. */
LLVMValueRef cg_dim(cg_ctx *c, const ir_shape *s, int i);
/* Whether s has symbolic dimensions only at its outermost physical
 * dimension (minor_to_major[rank-1]); *e: that dimension's expression, or
 * 0 when s is static. */
bool cg_symbolic_outer(const ir_shape *s, ir_dexpr *e);
/* A units function i64(ptr bind) (cg_phase.units): cg_units_begin makes
 * it and moves the builder into it with c->bind its parameter;
 * cg_units_end returns `value` from it and restores both. */
typedef struct cg_units_save {
  LLVMBasicBlockRef block;
  LLVMValueRef bind, fn;
} cg_units_save;
void cg_units_begin(cg_ctx *c, cg_units_save *save);
LLVMValueRef cg_units_end(cg_ctx *c, cg_units_save *save, LLVMValueRef value);
/* The units function for a phase of n iterations at the bounds whose
 * iterations are `outer` (an expression, bound ub) equal slices laid
 * end to end: n / ub · outer at run time. NULL when outer is 0. */
LLVMValueRef cg_units_scaled(cg_ctx *c, int64_t n, ir_dexpr outer);
/* Checks that the loop kernel d can run at any binding: its index
 * arithmetic reads symbolic extents from the binding (cg_dim), so every op
 * whose elemental form does that is accepted; what does not yet (a window
 * along a symbolic dimension, a symbolic gather slice size,
 * dynamic_update_slice, sort, scatter, panel layouts) is refused by name
 * (cg_fail_unsupported). *outer: the first symbolic expression met, its
 * outputs' first (0: the kernel is static). */
bool cg_symbolic_kernel_ok(cg_ctx *c, const cg_kdesc *d, ir_dexpr *outer);

/* ---- cg_scalar.c: the semantics of docs/ir.md, one element at a time ---- */

/* op applied to x of element type t (the operand type). */
LLVMValueRef cg_unary(cg_ctx *c, ir_op op, ir_type t, LLVMValueRef x);
LLVMValueRef cg_binary(cg_ctx *c, ir_op op, ir_type t, LLVMValueRef x, LLVMValueRef y);
LLVMValueRef cg_compare(cg_ctx *c, ir_cmp dir, ir_type t, LLVMValueRef x, LLVMValueRef y);
LLVMValueRef cg_convert(cg_ctx *c, ir_type from, ir_type to, LLVMValueRef v);
LLVMValueRef cg_max(cg_ctx *c, ir_type t, LLVMValueRef x, LLVMValueRef y);
LLVMValueRef cg_min(cg_ctx *c, ir_type t, LLVMValueRef x, LLVMValueRef y);
/* Combiners of reduce / reduce_window / scatter and their identities. */
LLVMValueRef cg_combine(cg_ctx *c, ir_combiner comb, ir_type t, LLVMValueRef acc, LLVMValueRef x, bool reassoc);
LLVMValueRef cg_identity(cg_ctx *c, ir_combiner comb, ir_type t);

/* ---- cg_math.c: float functions without an exact LLVM instruction ------ */

/* op is one of the IR_F_TRANSCENDENTAL unary ops (and sqrt, rsqrt); x is a
 * float or double register value. */
LLVMValueRef cg_math_unary(cg_ctx *c, ir_op op, LLVMValueRef x);
LLVMValueRef cg_math_pow(cg_ctx *c, LLVMValueRef x, LLVMValueRef y);
LLVMValueRef cg_math_atan2(cg_ctx *c, LLVMValueRef x, LLVMValueRef y);

/* ---- cg_elemental.c ---------------------------------------------------- */

/* The register value of instruction id of k->comp at ix. */
LLVMValueRef cg_elem(cg_kernel *k, ir_id id, const cg_index *ix);
/* Input position of window tap `kpos` for output position `opos` along one
 * window dimension of an input of extent `dim`; ANDs into *valid whether
 * it hits a real element (not padding, not a hole of lhs_dilate). The
 * position returned is clamped into [0, dim). */
LLVMValueRef cg_window_tap_v(cg_ctx *c, const ir_window_dim *w, LLVMValueRef dim, LLVMValueRef opos, LLVMValueRef kpos,
                             LLVMValueRef *valid);
LLVMValueRef cg_window_tap(cg_ctx *c, const ir_window_dim *w, int64_t dim, LLVMValueRef opos, LLVMValueRef kpos,
                           LLVMValueRef *valid);
/* Whether id of comp is a constant (possibly broadcast or reshaped) whose
 * elements all equal *v. The elemental emitter specializes on this even
 * when the value is materialized, so kernel keys record it. */
bool cg_uniform_constant(const ir_comp *comp, ir_id id, double *v);
/* Rough cost (operations) of computing one element of id. */
double cg_elem_cost(const cg_kernel *k, ir_id id);
/* Whether cg_elem can compute op (everything but sort, scatter, custom_call,
 * tuple, get_tuple_element, parameter; a fusion is expanded in place). */
bool cg_is_elemental(ir_op op);

/* ---- cg_kernel.c ------------------------------------------------------- */

/* Generates (or reuses) the kernel for d through the backend. False after
 * reporting. */
bool cg_kernel_emit(cg_ctx *c, const cg_kdesc *d, cg_launch *out);
/* The key of d (see cg_kernel.c): malloc'd, *len bytes (NULs possible); a
 * backend may realloc it to append what else its code depends on. NULL
 * when out of memory. */
char *cg_kernel_key(const cg_kdesc *d, size_t *len);
/* The launch of the kernel generated for key, if any, into *out. */
bool cg_kernel_lookup(const cg_ctx *c, const char *key, size_t len, cg_launch *out);
/* Records the kernel of key (taking key) with launch l. */
bool cg_kernel_remember(cg_ctx *c, char *key, size_t len, const cg_launch *l);
/* Sets up k for emitting into fn: buf/bshape for d's inputs from the
 * parameters of fn (outputs first, then inputs). */
bool cg_kernel_begin(cg_ctx *c, cg_kernel *k, const cg_kdesc *d, LLVMValueRef fn);
void cg_kernel_end(cg_kernel *k);
/* Whether id is one of d's inputs whose buffer has the default layout; its
 * position among the inputs in *pos. */
bool cg_default_input(const cg_kdesc *d, ir_id id, unsigned *pos);
/* The fused epilogue of the dot and convolution kernels (the root is an
 * epilogue over the hero, cg_epilogue_hero): the hero is computed into
 * output 0 (f32, default layout), then each element is overwritten with
 * the root computed from it while it is still in L1. cg_epilogue_begin
 * makes k read the hero from output 0; cg_epilogue_store computes the root
 * at ix, whose offset in output 0 is `at`, and stores it there. */
void cg_epilogue_begin(cg_kernel *k, const cg_kdesc *d, ir_id hero);
void cg_epilogue_store(cg_kernel *k, const cg_kdesc *d, cg_index *ix, LLVMValueRef at);
/* Memo scopes: values computed inside a loop body do not dominate what
 * follows the loop, so loops in element code save and restore the memo. */
uint32_t cg_memo_mark(const cg_kernel *k);
void cg_memo_reset(cg_kernel *k, uint32_t mark);

/* A new body function for d (every kernel phase has this signature). */
LLVMValueRef cg_kernel_body(cg_ctx *c, const cg_kdesc *d);

/* ---- cg_jit.c / cg_target.c: the JIT's hooks --------------------------- */

/* Name of the function a JIT module gets to stop its thread pool (a name
 * no C identifier can clash with): the backend's finish adds it to a
 * module built for the JIT (o->jit); cg_jit_create calls it at the end. */
#define CG_JIT_SHUTDOWN "kiln.jit.shutdown"
/* Hands the module, its thread-safe context and the target machine over
 * to the caller; `out` keeps nothing of them. False if out was not made
 * for the JIT. */
bool cg_output_take(cg_output *out, LLVMModuleRef *mod, LLVMOrcThreadSafeContextRef *tsc, LLVMTargetMachineRef *tm);

/* ---- cg_module.c: the whole module ------------------------------------ */

bool cg_build_module(cg_ctx *c, size_t *workspace_size);

#endif

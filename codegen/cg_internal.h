/*
 * Internals shared by the CPU code generator's files (codegen/cg_*.c).
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


typedef struct cg_kfn cg_kfn;

typedef struct cg_const_ref {
  uint32_t comp;
  ir_id id;
  LLVMValueRef global;
} cg_const_ref;

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
  const char *cpu, *features; /* function attributes */
  bool prefer512;
  bool have_pool; /* the runtime bitcode (thread pool) is in the module */
  /* The features the code of the current level may use, as "+a,+b": what
   * codegen decisions (vector width, register tile) follow. On x86-64 the
   * closed list of cg_cpu.c (so --cpu NAME alone gives NAME's vectors);
   * elsewhere the feature string as given. */
  const char *vec_features;
  /* Levels: one, or for --cpu=portable x86-64-v2, -v3, -v4; cg_module.c
   * builds the kernels and run function once per level (cg_set_level). */
  struct cg_level *levels;
  int nlevels;
  bool portable;
  bool no_prepack;     /* GEMM weights stay as they are (portable: every level reads one copy) */
  LLVMValueRef fn_cpu_host, fn_cpu_missing; /* runtime/rt_cpu.c in the module; NULL: no check possible */

  LLVMTypeRef t_void, t_i1, t_i8, t_i16, t_i32, t_i64, t_half, t_f32, t_f64, t_ptr;
  LLVMTypeRef t_task;       /* void(ptr, i64, i64) */
  LLVMTypeRef t_pfor;       /* void(ptr, ptr, i64, i64) */
  LLVMValueRef fn_pfor, fn_set_threads, fn_num_threads;

  cg_kfn *kfns;
  uint32_t nkfns, capkfns;
  cg_const_ref *consts;
  uint32_t nconsts, capconsts;
  LLVMValueRef sort_fns[3][2]; /* [key kind][descending] */
  uint32_t nfn;                /* counter for generated function names */
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
} cg_kdesc;

/* One parallel loop of a launch. */
typedef struct cg_phase {
  LLVMValueRef task; /* void(ptr args, i64 begin, i64 end) */
  int64_t n;         /* iterations of the parallel loop */
  double cost;       /* rough operations per iteration */
  bool serial;       /* must run as one call task(args, 0, n) */
} cg_phase;

/* What the entry function needs to launch a kernel: its phases, run in
 * order with one argument array
 *   args = { out0.., in0.., scratch, aux0, aux1 }
 * scratch: workspace bytes the kernel needs during the launch (NULL if 0);
 * aux: per-launch constants (weights packed at compile time), never shared
 * through the kernel cache since kernels with equal keys may have
 * different weights. */
#define CG_MAX_PHASES 3
typedef struct cg_launch {
  cg_phase ph[CG_MAX_PHASES];
  uint32_t nphase;
  int64_t scratch;
  LLVMValueRef aux[2];
  uint32_t unused_in; /* per launch: inputs (bit i: input i) the kernel never reads
                         (weights it uses pre-packed), passed as NULL */
} cg_launch;

/* Parameter positions of a kernel body (see cg_kernel.c). */
static inline unsigned cg_arg_scratch(const cg_kdesc *d) { return d->nout + d->nin; }
static inline unsigned cg_arg_aux(const cg_kdesc *d, int i) { return d->nout + d->nin + 1 + (unsigned)i; }
static inline unsigned cg_arg_lo(const cg_kdesc *d) { return d->nout + d->nin + 3; }
static inline unsigned cg_arg_hi(const cg_kdesc *d) { return d->nout + d->nin + 4; }

/* A generated kernel, shared by every launch with the same key (the key
 * may hold constant bytes, NULs included: compare with keylen). */
struct cg_kfn {
  char *key;
  size_t keylen;
  cg_launch launch;
};

/* ---- cg_util.c ------------------------------------------------------- */

bool cg_fail(cg_ctx *c, const char *fmt, ...) DIAG_PRINTF(2, 3);
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
/* Element strides of the physical order of s (layout respected). */
void cg_phys_strides(const ir_shape *s, int64_t *strides);
/* Physical element offset of ix within an array of shape s. */
LLVMValueRef cg_offset(cg_ctx *c, const ir_shape *s, const cg_index *ix);
/* Row-major linear index of ix over dims (ix.rank entries). */
LLVMValueRef cg_rowmajor(cg_ctx *c, const int64_t *dims, const cg_index *ix);
/* Splits a row-major linear index over dims into ix->d. */
void cg_delinearize(cg_ctx *c, LLVMValueRef linear, int rank, const int64_t *dims, cg_index *ix);
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
/* A call of an external C function (libm) of type ret(args' types). */
LLVMValueRef cg_call_extern(cg_ctx *c, const char *name, LLVMTypeRef ret, LLVMValueRef *args, unsigned nargs);
/* Sets target CPU/features and the usual attributes on a generated function. */
void cg_fn_attrs(cg_ctx *c, LLVMValueRef fn);
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

/* Generates (or reuses) the kernel for d. False after reporting. */
bool cg_kernel_emit(cg_ctx *c, const cg_kdesc *d, cg_launch *out);
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
/* The task wrapper of a body. */
LLVMValueRef cg_kernel_task(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body);

/* ---- cg_gemm.c: dot and convolution as packed, register-tiled GEMM -------- */

/* Whether d's root is a dot or convolution (the hero), or an epilogue over
 * exactly one: everything in the kernel that depends on the hero is
 * elementwise with the hero's dims and type. Sets *hero. */
bool cg_epilogue_hero(const cg_kdesc *d, ir_id *hero);
/* Whether the root of d goes through the GEMM path; its key suffix (which
 * operands are constants packed at compile time) in *tag. */
bool cg_gemm_applies(cg_ctx *c, const cg_kdesc *d, unsigned *tag);
bool cg_gemm_kernel(cg_ctx *c, const cg_kdesc *d, cg_launch *out);
/* f32 lanes of the target's vector registers (16 AVX-512, 8 AVX2+FMA, else 4). */
int cg_target_vw(const cg_ctx *c);
/* Per launch: packs the constant operands (aux globals). */
bool cg_gemm_constants(cg_ctx *c, const cg_kdesc *d, cg_launch *out);

/* ---- cg_conv.c: convolutions by output rows ------------------------------- */

bool cg_conv_rows_applies(const cg_kdesc *d);
bool cg_conv_rows_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out);

/* ---- cg_dwconv.c: depthwise convolutions, one plane at a time ------------ */

bool cg_conv_dw_applies(const cg_ctx *c, const cg_kdesc *d);
bool cg_conv_dw_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out);

/* ---- cg_sort.c: kernels that are not loops over an output ---------------- */

bool cg_sort_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out, int64_t *scratch);
bool cg_scatter_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out);

/* ---- cg_cpu.c: the CPU features code needs ------------------------------- */

typedef struct cg_cpu_need {
  bool x86;       /* x86-64: `need` is meaningful and can be checked */
  uint64_t need;  /* runtime/rt_cpu.h mask */
  char text[768]; /* the same as "+sse3,+avx2,..." */
} cg_cpu_need;

/* One target level of a module. */
typedef struct cg_level {
  const char *cpu, *features; /* function attributes */
  cg_cpu_need need;
} cg_level;

/* The features code for (triple, cpu, features) needs; host_default: cpu
 * and features are LLVM's host answers. False (reported) for an x86-64 CPU
 * name whose features kiln cannot tell. */
bool cg_cpu_features(const char *triple, const char *cpu, const char *features, bool host_default, cg_cpu_need *out,
                     diag *d);
/* The features LLVM implies for an x86-64 CPU name ("+a,+b"), or NULL. */
const char *cg_cpu_table_features(const char *cpu);
/* Makes level i the current one: cpu, features, vec_features, prefer512. */
void cg_set_level(cg_ctx *c, int i);
/* Function attributes for code that must run on any x86-64 CPU (the checks
 * before the kernels); cg_fn_attrs on other targets. */
void cg_fn_attrs_baseline(cg_ctx *c, LLVMValueRef fn);

/* ---- cg_runtime.c ------------------------------------------------------ */

/* Creates c->mod from the embedded runtime bitcode when it matches the
 * target (have_pool), else an empty module with serial stand-ins. */
bool cg_runtime_module(cg_ctx *c, const char *triple);
/* Gives the runtime's functions and globals internal linkage. */
void cg_runtime_internalize(cg_ctx *c);
/* Whether two target triples name the same architecture, OS and
 * environment (the vendor does not matter: x86_64-linux-gnu is
 * x86_64-pc-linux-gnu). */
bool cg_same_platform(const char *a, const char *b);

/* ---- cg_jit.c / cg_target.c: the JIT's hooks --------------------------- */

/* Name of the function a JIT module gets to stop its thread pool (a name
 * no C identifier can clash with). */
#define CG_JIT_SHUTDOWN "kiln.jit.shutdown"
/* Run by cg_lower on a module meant for the JIT (after internalizing):
 * drops the runtime's static destructor (ORC's C API runs none) and adds
 * CG_JIT_SHUTDOWN, which does what it did. */
bool cg_jit_prepare(cg_ctx *c);
/* Hands the module, its thread-safe context and the target machine over
 * to the caller; `out` keeps nothing of them. False if out was not made
 * for the JIT. */
bool cg_output_take(cg_output *out, LLVMModuleRef *mod, LLVMOrcThreadSafeContextRef *tsc, LLVMTargetMachineRef *tm);

/* ---- cg_module.c: the whole module ------------------------------------ */

bool cg_build_module(cg_ctx *c, size_t *workspace_size);

#endif

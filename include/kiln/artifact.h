/*
 * The kiln artifact ABI: what a shared object made by `kiln compile` exports.
 *
 * This header is all a program needs to use any kiln artifact without its
 * generated header: dlopen the .so, look up `kiln_artifact_info`, and read
 * the description it returns. It depends on nothing but <stddef.h> and
 * <stdint.h>; it does not need libkiln.
 *
 * An artifact made with name NAME (`kiln compile --name NAME`) exports:
 *
 *   int    kiln_NAME_run(const void *const *inputs, void *const *outputs, void *workspace);
 *   size_t kiln_NAME_workspace_size(void);
 *   void   kiln_NAME_set_num_threads(int n);
 *   int    kiln_NAME_num_threads(void);
 *   const kiln_artifact_desc *kiln_NAME_info(void);
 *   const kiln_artifact_desc *kiln_artifact_info(void);   -- the same description
 *   size_t kiln_NAME_missing_features(char *buf, size_t cap);   -- x86-64 only, see below
 *   const char *kiln_NAME_selected_cpu(void);                    -- x86-64 only, see below
 *   void   kiln_NAME_set_trace(kiln_artifact_trace_fn, void *);  -- instrumented only, see below
 *   int    kiln_NAME_run_shaped(...);                            -- see "Symbolic dimensions" below
 *
 * `kiln_artifact_info` has the same name in every artifact: it is meant for
 * dlopen (each handle has its own). A program that links several artifacts
 * directly uses the named `kiln_NAME_info` instead.
 *
 * Calling convention of run:
 *   - inputs[i] points to input i, outputs[i] to output i: dense arrays of
 *     the element type and dimensions described below, ordered by the
 *     layout (`minor_to_major`, row-major unless a model says otherwise).
 *     Any alignment of the element type's size is fine.
 *   - Output buffers must not overlap each other, any input, or the
 *     workspace. Inputs are only read; they may overlap each other.
 *   - workspace: `workspace_size` bytes, aligned to `workspace_align` (64),
 *     owned by the caller, holding nothing between calls (contents are
 *     scratch). NULL makes run allocate (and free) one itself with malloc.
 *   - Returns KILN_ARTIFACT_OK (0) or one of the KILN_ARTIFACT_ERR_* codes.
 *     On an error the outputs hold unspecified values.
 *
 * CPU features (x86-64): the code needs the instruction-set features listed
 * in `required_features`. run checks them (cpuid and, for AVX/AVX-512, that
 * the OS saves the registers) before it executes anything built for more
 * than the x86-64 baseline, and returns KILN_ARTIFACT_ERR_CPU on a CPU that
 * lacks one: it never dies of an illegal instruction. missing_features
 * names what this CPU lacks. An artifact made with `--cpu=portable` holds
 * the kernels for x86-64-v2, -v3 and -v4 and runs the best this CPU has;
 * selected_cpu says which ("x86-64-v3"), or NULL when none can run here.
 * For other architectures the features given are recorded, not checked
 * (missing_features and selected_cpu are NULL).
 *
 * Threads: run may be called from several threads at once, each call with
 * its own workspace (or NULL) and its own outputs. The artifact has one
 * thread pool (started at the first parallel loop, stopped when the .so is
 * unloaded); a call that finds the pool busy with another call runs its
 * loops on its own thread instead of waiting. set_num_threads (n <= 0: one
 * per core the process may run on) is safe at any time and applies from the
 * next parallel loop; the count includes the calling thread.
 *
 * Ownership: everything the description points to is constant data inside
 * the .so, valid until it is unloaded (dlclose). Never write to it or free
 * it.
 *
 * Kernels (instrumented artifacts, `kiln compile --instrument`): the
 * description lists the kernels in the order run launches them
 * (`kernels`, `num_kernels`), and `set_trace` installs a hook the code
 * calls on the run's thread before and after each kernel and, on each
 * thread taking part, around its share of a kernel's parallel loop:
 *
 *   hook(user, kernel, KILN_ARTIFACT_TRACE_KERNEL_BEGIN, 0, NULL)
 *     hook(user, kernel, KILN_ARTIFACT_TRACE_WORK_BEGIN, thread, NULL)   -- per thread,
 *     hook(user, kernel, KILN_ARTIFACT_TRACE_WORK_END, thread, NULL)     -- 0 the caller's
 *   hook(user, kernel, KILN_ARTIFACT_TRACE_KERNEL_END, 0, outputs)
 *
 * where outputs[k] points to the kernel's k-th array, as its `outputs`
 * entry describes it (valid during the call; a later kernel may reuse
 * the bytes). Set the hook only while no run is in progress; with a hook
 * set, run one call at a time. NULL removes it. An artifact made without
 * instrumentation has num_kernels 0 and set_trace NULL, and pays nothing.
 *
 * Symbolic dimensions: an artifact compiled from a model with symbolic
 * dimensions (`kiln compile --max-shape`) runs at any binding of its
 * symbols within their bounds. `dims` and `size_bytes` of a tensor then
 * describe it at the bounds; `input_dim_symbols` says which dimensions are
 * symbolic. Call
 *
 *   int kiln_NAME_run_shaped(const void *const *inputs, const int64_t *const *input_dims,
 *                            void *const *outputs, int64_t *const *output_dims, void *workspace);
 *
 * with input_dims[i] pointing to input i's actual dimensions (rank
 * entries; the arrays are dense and row-major at those dimensions).
 * Every dimension that is a symbol alone binds that symbol; the value must
 * lie in [1, bound], and every other dimension must equal what the
 * binding makes of it; otherwise run_shaped returns
 * KILN_ARTIFACT_ERR_SHAPE before anything runs. Each output is written
 * densely at its actual dimensions, which run_shaped stores into
 * output_dims[i] (rank entries; output_dims or an entry may be NULL);
 * an output buffer of the tensor's size_bytes (its bound) always has room.
 * The workspace is workspace_size bytes whatever the binding. Every
 * artifact exports run_shaped (a static one checks that the dimensions
 * are its own); `run` runs a symbolic artifact at the bounds.
 *
 * Data-dependent sizes: a symbol marked in `symbol_computed` is a size the
 * run computes from values (NonZero's count, a TopK's k input; docs/ir.md,
 * "Data-dependent sizes"), 0 <= value <= bound. No input gives it; outputs
 * whose dimensions use it are only known when run_shaped returns (through
 * output_dims; `run` gives no way to learn them). A value outside its range
 * makes run_shaped return KILN_ARTIFACT_ERR_SHAPE from the middle of the
 * run: outputs may then hold partial results.
 *
 * Versioning: `abi_version` changes when a field changes meaning or
 * position; new fields are only ever appended, and `size` says how many
 * bytes of the struct this artifact provides. A reader checks
 * `abi_version == KILN_ARTIFACT_ABI_VERSION` and `size >= ` the offset
 * just past the last field it reads.
 */
#ifndef KILN_ARTIFACT_H
#define KILN_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_ARTIFACT_ABI_VERSION 1

/* Status codes returned by kiln_NAME_run. */
enum {
  KILN_ARTIFACT_OK = 0,
  KILN_ARTIFACT_ERR_ARGUMENT = 1,    /* inputs or outputs NULL (or a NULL entry for a non-empty array) */
  KILN_ARTIFACT_ERR_MEMORY = 2,      /* workspace NULL and malloc failed */
  KILN_ARTIFACT_ERR_ALIGNMENT = 3,   /* workspace not aligned to workspace_align */
  KILN_ARTIFACT_ERR_CUSTOM_CALL = 4, /* an external kernel (custom_call) returned non-zero */
  KILN_ARTIFACT_ERR_CPU = 5,         /* this CPU lacks features the code needs (missing_features names them); nothing ran */
  KILN_ARTIFACT_ERR_SHAPE = 6,       /* run_shaped: an input's dimensions are out of bound or inconsistent; nothing ran */
};

/* Element types: the same numbering as kiln_dtype in kiln/kiln.h. */
enum {
  KILN_ARTIFACT_PRED = 0, /* one byte, 0 or 1 */
  KILN_ARTIFACT_I8, KILN_ARTIFACT_I16, KILN_ARTIFACT_I32, KILN_ARTIFACT_I64,
  KILN_ARTIFACT_U8, KILN_ARTIFACT_U16, KILN_ARTIFACT_U32, KILN_ARTIFACT_U64,
  KILN_ARTIFACT_F16, KILN_ARTIFACT_BF16, KILN_ARTIFACT_F32, KILN_ARTIFACT_F64,
};

/* Phases of the trace hook (see "Kernels" above); the same numbers as
 * kiln_trace_phase in kiln/kiln.h. */
enum {
  KILN_ARTIFACT_TRACE_KERNEL_BEGIN = 0,
  KILN_ARTIFACT_TRACE_KERNEL_END = 1,
  KILN_ARTIFACT_TRACE_WORK_BEGIN = 2,
  KILN_ARTIFACT_TRACE_WORK_END = 3,
};
typedef void (*kiln_artifact_trace_fn)(void *user, int kernel, int phase, int thread, void *const *buffers);

/* One input or output. */
typedef struct kiln_artifact_tensor {
  const char *name;               /* the model's name for it (UTF-8, NUL-terminated) */
  int32_t dtype;                  /* KILN_ARTIFACT_* element type */
  int32_t rank;                   /* 0..8 */
  const int64_t *dims;            /* rank entries */
  const int32_t *minor_to_major;  /* rank entries: the layout; {rank-1, ..., 0} is row-major */
  uint64_t size_bytes;            /* bytes of the dense array */
} kiln_artifact_tensor;

/* One kernel of an instrumented artifact. */
typedef struct kiln_artifact_kernel {
  const char *name;        /* the entry instruction it computes ("fusion.12") */
  const char *kind;        /* "gemm", "conv", "dwconv", "loop", "reduce", "copy", "sort", "scatter", "custom_call" */
  const char *onnx_nodes;  /* ONNX node names it covers, comma-separated, each once ("" none known) */
  const char *onnx_ops;    /* their op types, in the same order */
  const char *shape;       /* its result's shape as IR text ("f32[1,64]", "(f32[2], i64[2])") */
  double flops;            /* arithmetic operations, a multiply-add counting 2 (ir/cost.h) */
  double bytes;            /* bytes of its distinct operands and its results, each once */
  uint32_t num_outputs;    /* arrays it writes */
  const kiln_artifact_tensor *outputs; /* num_outputs: named NAME or NAME#k (tuple element k) */
} kiln_artifact_kernel;

typedef struct kiln_artifact_desc {
  uint32_t abi_version;           /* KILN_ARTIFACT_ABI_VERSION */
  uint32_t size;                  /* sizeof(kiln_artifact_desc) of the producing kiln */
  const char *name;               /* NAME, as in kiln_NAME_run */
  const char *producer;           /* "kiln 0.1.0" */
  const char *target_triple;      /* LLVM target triple the code was made for */
  const char *target_cpu;         /* LLVM CPU name, e.g. "znver4"; "portable" (see CPU features above) */
  uint32_t num_inputs, num_outputs;
  const kiln_artifact_tensor *inputs;   /* num_inputs entries */
  const kiln_artifact_tensor *outputs;  /* num_outputs entries */
  uint64_t workspace_size;        /* bytes; may be 0 */
  uint64_t workspace_align;       /* 64 */
  int (*run)(const void *const *inputs, void *const *outputs, void *workspace);
  void (*set_num_threads)(int n);
  int (*num_threads)(void);
  /* Appended later within ABI version 1: read only when `size` covers them. */
  const char *required_features;  /* x86-64: "+sse4.2,+avx,+avx2,+fma,...", LLVM's names of the checked
                                     features the code needs ("" none); elsewhere the --features given */
  /* Writes the required features this CPU lacks as "avx512f, avx512bw" into buf (cut to cap bytes,
   * NUL-terminated); returns the length of the whole text, 0 when the code runs here. NULL: not checked. */
  size_t (*missing_features)(char *buf, size_t cap);
  /* The CPU the code that runs here was made for: target_cpu, or for a portable artifact the best
   * level this CPU has ("x86-64-v4"); NULL when none can run here. The pointer is NULL: not checked. */
  const char *(*selected_cpu)(void);
  /* Appended later within ABI version 1 (see "Kernels" above): read only when `size` covers them. */
  uint32_t num_kernels;                 /* 0: not instrumented */
  const kiln_artifact_kernel *kernels;  /* num_kernels entries, in launch order */
  void (*set_trace)(kiln_artifact_trace_fn fn, void *user); /* NULL: not instrumented */
  /* Appended later within ABI version 1 (see "Symbolic dimensions" above): read only when `size`
   * covers them. */
  uint32_t num_symbols;                      /* 0: every dimension is static */
  const char *const *symbol_names;           /* num_symbols: the model's names ("batch") */
  const int64_t *symbol_bounds;              /* num_symbols: each symbol's value lies in [1, bound] ([0, bound]: computed) */
  const int32_t *const *input_dim_symbols;   /* num_inputs arrays of rank entries: KILN_ARTIFACT_DIM_* or a symbol */
  const int32_t *const *output_dim_symbols;  /* num_outputs arrays, the same */
  const char *const *input_shapes;           /* num_inputs: the shape as text, "f32[batch,3,224,224]" */
  const char *const *output_shapes;          /* num_outputs: the same, "f32[batch,1000]" */
  int (*run_shaped)(const void *const *inputs, const int64_t *const *input_dims, void *const *outputs,
                    int64_t *const *output_dims, void *workspace);
  /* Appended later within ABI version 1 (see "Data-dependent sizes" above, under "Symbolic
   * dimensions"): read only when `size` covers it. num_symbols entries: 1 for a size the run computes from values (NonZero's count, a
   * TopK's k input), 0 <= value <= bound, known only once run_shaped returns; 0 for a size the
   * inputs' dimensions give. */
  const unsigned char *symbol_computed;
} kiln_artifact_desc;

/* input_dim_symbols / output_dim_symbols entries: a symbol's index (>= 0)
 * for a dimension that is that symbol alone, else one of these. */
enum {
  KILN_ARTIFACT_DIM_STATIC = -1, /* dims[i] is the size */
  KILN_ARTIFACT_DIM_EXPR = -2,   /* an expression of symbols (the shape text says which); dims[i] is its bound */
};

/* The symbol every artifact exports (see above). */
#define KILN_ARTIFACT_INFO_SYMBOL "kiln_artifact_info"
typedef const kiln_artifact_desc *(*kiln_artifact_info_fn)(void);

#ifdef __cplusplus
}
#endif
#endif

/*
 * kiln: a graph compiler for neural networks. The public C API.
 *
 * Conventions (as in SQLite and LLVM-C):
 *   - Opaque handles with paired create/destroy functions.
 *   - Every function that can fail returns a kiln_status; KILN_OK is 0.
 *     kiln_context_last_error() gives the message of the last failure on
 *     that context. Functions on a model or executable record their errors
 *     in the context that made it.
 *   - The library never prints and never exits. Diagnostics (errors,
 *     warnings, remarks) go to the callback set with
 *     kiln_context_set_diagnostics, if any.
 *   - Each function says who owns what it returns. Strings returned through
 *     `char **` are the caller's, freed with kiln_free().
 *   - New behaviour comes as new functions; signatures never change.
 *
 * Threads: a context and the models made from it must be used by one thread
 * at a time (different contexts on different threads are independent).
 * Executables are different: one may be run from many threads at once, see
 * "executables" below.
 */
#ifndef KILN_KILN_H
#define KILN_KILN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define KILN_API __attribute__((visibility("default")))
#else
#define KILN_API
#endif

#define KILN_VERSION_MAJOR 0
#define KILN_VERSION_MINOR 1
#define KILN_VERSION_PATCH 0

typedef enum kiln_status {
  KILN_OK = 0,
  KILN_ERR_INVALID_ARGUMENT = 1, /* a NULL handle, an index out of range, ... */
  KILN_ERR_IO = 2,               /* a file could not be read or written */
  KILN_ERR_PARSE = 3,            /* malformed model or IR text */
  KILN_ERR_UNSUPPORTED = 4,      /* a valid model using what kiln cannot do yet */
  KILN_ERR_SHAPE = 5,            /* shapes or types that do not fit; unbound dimensions */
  KILN_ERR_COMPILE = 6,          /* code generation failed */
  KILN_ERR_RUNTIME = 7,          /* execution failed */
  KILN_ERR_OUT_OF_MEMORY = 8,
  KILN_ERR_INTERNAL = 9,         /* a bug in kiln: please report it */
} kiln_status;

/* Element types; the numbering matches the artifact ABI (kiln/artifact.h). */
typedef enum kiln_dtype {
  KILN_PRED = 0, KILN_I8, KILN_I16, KILN_I32, KILN_I64, KILN_U8, KILN_U16, KILN_U32, KILN_U64,
  KILN_F16, KILN_BF16, KILN_F32, KILN_F64,
} kiln_dtype;

typedef enum kiln_diag_level { KILN_DIAG_ERROR, KILN_DIAG_WARNING, KILN_DIAG_NOTE, KILN_DIAG_REMARK } kiln_diag_level;
typedef void (*kiln_diag_fn)(void *user, kiln_diag_level level, const char *message);

typedef struct kiln_context kiln_context;
typedef struct kiln_model kiln_model;

/* Description of an input or output. Pointers are owned by the model (or
 * executable) and live as long as it does. */
typedef struct kiln_tensor_info {
  const char *name;
  kiln_dtype dtype;
  int rank;
  const int64_t *dims;
} kiln_tensor_info;

/* "0.1.0" */
KILN_API const char *kiln_version(void);
KILN_API const char *kiln_status_name(kiln_status s);
KILN_API const char *kiln_dtype_name(kiln_dtype t);
/* Size in bytes of one element. */
KILN_API size_t kiln_dtype_size(kiln_dtype t);
/* Frees a string or buffer the library handed to the caller. */
KILN_API void kiln_free(void *p);

/* ---- context ----------------------------------------------------------- */

/* Creates a context with default options (host CPU, all cores, -O3). It
 * is cheap: LLVM is set up once per process, at the first compilation.
 * Caller owns *out; destroy with kiln_context_destroy. */
KILN_API kiln_status kiln_context_create(kiln_context **out);
KILN_API void kiln_context_destroy(kiln_context *ctx);
/* The message of the last failure on ctx ("" if none); owned by ctx, valid
 * until the next call on it. */
KILN_API const char *kiln_context_last_error(const kiln_context *ctx);
/* Routes every diagnostic to fn (NULL: none). */
KILN_API void kiln_context_set_diagnostics(kiln_context *ctx, kiln_diag_fn fn, void *user);
/* Binds the symbolic dimensions of a model input, by input name, for models
 * loaded afterwards (ONNX `dim_param`s, e.g. batch). Replaces an earlier
 * binding of the same name. */
KILN_API kiln_status kiln_context_bind_input_shape(kiln_context *ctx, const char *input, int rank, const int64_t *dims);
/* Bounds the symbolic dimensions of a model input, by input name, for
 * models loaded afterwards: each symbolic dimension (an ONNX `dim_param` or
 * unknown dimension) of the input becomes a symbol whose values range over
 * 1..dims[i] (the dimension at its position); a static dimension must equal
 * dims[i]. The model is compiled once and runs at any shape within the
 * bounds (kiln_model_bind_shapes). Replaces an earlier bound of the same
 * name; an input may not be both bound here and bound to a fixed shape by
 * kiln_context_bind_input_shape. `input` may also name a node output whose
 * size run-time values decide and the importer cannot bound (a Range or
 * ConstantOfShape of run-time values): its dimensions then range over
 * 0..dims[i], checked as the run computes them (docs/onnx-import.md,
 * "Data-dependent sizes"). */
KILN_API kiln_status kiln_context_bound_input_shape(kiln_context *ctx, const char *input, int rank, const int64_t *dims);

/* ---- models ------------------------------------------------------------ */

/* Loads IR text (docs/ir.md); `file` names it in messages (may be NULL).
 * Caller owns *out; destroy with kiln_model_destroy. */
KILN_API kiln_status kiln_model_from_kir(kiln_context *ctx, const char *text, size_t len, const char *file,
                                         kiln_model **out);
/* Loads ONNX bytes from memory (a model with external data needs
 * kiln_model_load_onnx instead). The bytes stay the caller's. Caller owns
 * *out; destroy with kiln_model_destroy. */
KILN_API kiln_status kiln_model_from_onnx_bytes(kiln_context *ctx, const void *bytes, size_t len, kiln_model **out);
/* The operators of ONNX's default (ai.onnx) domain up to the newest opset
 * kiln reads, each with its versions and which of them kiln imports (or why
 * none), as the Markdown of docs/onnx-ops.md. Caller owns *text; free with
 * kiln_free. KILN_ERR_OUT_OF_MEMORY when it cannot be built. */
KILN_API kiln_status kiln_onnx_ops_markdown(char **text);
/* Loads a file: .onnx as ONNX, anything else as IR text. Caller owns
 * *out; destroy with kiln_model_destroy. */
KILN_API kiln_status kiln_model_load_file(kiln_context *ctx, const char *path, kiln_model **out);
KILN_API void kiln_model_destroy(kiln_model *m);
/* The context m was made in (owned by the caller who created it). */
KILN_API kiln_context *kiln_model_context(const kiln_model *m);

KILN_API int kiln_model_num_inputs(const kiln_model *m);
KILN_API int kiln_model_num_outputs(const kiln_model *m);
KILN_API kiln_status kiln_model_input(const kiln_model *m, int i, kiln_tensor_info *out);
KILN_API kiln_status kiln_model_output(const kiln_model *m, int i, kiln_tensor_info *out);
/* Index of the input or output with this name, or -1. */
KILN_API int kiln_model_find_input(const kiln_model *m, const char *name);
KILN_API int kiln_model_find_output(const kiln_model *m, const char *name);
/* Symbolic dimensions (an ONNX model loaded with
 * kiln_context_bound_input_shape): the infos above give each symbolic
 * dimension as its bound. Whether m has any symbolic dimension (1) or none
 * (0). */
KILN_API int kiln_model_is_symbolic(const kiln_model *m);
/* Makes m static at the actual input shapes: actual[i] (only rank and dims
 * read) for input i, n = kiln_model_num_inputs(m) of them. Every symbol
 * takes the value of the input dimension that is it, which must lie within
 * its bound and agree across inputs; every other dimension must match.
 * Then m is as if loaded with those shapes fixed (the symbols are gone).
 * KILN_ERR_SHAPE, naming the input, dimension and symbol, when the shapes
 * do not fit; m is unchanged then. A static model accepts exactly its own
 * shapes. */
KILN_API kiln_status kiln_model_bind_shapes(kiln_model *m, int n, const kiln_tensor_info *actual);

enum {
  KILN_PRINT_ELIDE_CONSTANTS = 1 << 0, /* print constants over 16 elements as {...} */
};
/* The IR as text. Caller owns *text; free with kiln_free. */
KILN_API kiln_status kiln_model_print(const kiln_model *m, unsigned flags, char **text);
/* Checks the IR's invariants; errors name the instruction and rule. */
KILN_API kiln_status kiln_model_verify(kiln_model *m);

/* Called with the IR text after each pass whose name matches. */
typedef void (*kiln_dump_fn)(void *user, const char *pass, const char *ir_text);
/* Dumps the IR after the passes named in `pattern` ("all", or
 * comma-separated names; NULL turns dumping off). */
KILN_API void kiln_context_set_ir_dump(kiln_context *ctx, const char *pattern, kiln_dump_fn fn, void *user);
/* Verify the IR after every pass (default: on in debug builds). */
KILN_API void kiln_context_set_verify_passes(kiln_context *ctx, int on);
/* Report the optimisation decisions (fusion and rewrites, each with its
 * reason; the register tile of each GEMM kernel) as KILN_DIAG_REMARK
 * diagnostics (default: off). */
KILN_API void kiln_context_set_remarks(kiln_context *ctx, int on);

/* Optimises the model with the pass pipeline: `passes` is NULL for the
 * default pipeline or a comma-separated list of pass names; `disable`
 * (may be NULL) lists passes to skip. The passes decide for the context's
 * target (kiln_context_set_target; an unknown triple or CPU fails with
 * KILN_ERR_INVALID_ARGUMENT before any pass runs). */
KILN_API kiln_status kiln_model_optimize(kiln_model *m, const char *passes, const char *disable);
/* Names and one-line summaries of the passes of the default pipeline, in
 * order; i from 0 until it returns KILN_ERR_INVALID_ARGUMENT. */
KILN_API kiln_status kiln_pass_info(int i, const char **name, const char **summary);

/* Runs the model in the reference interpreter. inputs[i] and outputs[i] are
 * dense arrays of input/output i in the layout the model declares for them
 * (row-major for every model imported from ONNX), caller-owned, outputs
 * sized from kiln_model_output. */
KILN_API kiln_status kiln_model_evaluate(kiln_model *m, const void *const *inputs, void *const *outputs);
/* kiln_model_evaluate that also reports the outputs' actual dimensions:
 * for a model whose output sizes depend on values (NonZero, Unique, TopK
 * with k as an input; docs/ir.md, "Data-dependent sizes") outputs[i]
 * holds kiln_model_output's dims (the bounds) worth of bytes and is
 * written densely at the actual dimensions, stored into output_dims[i]
 * (rank-many; output_dims or an entry may be NULL). */
KILN_API kiln_status kiln_model_evaluate_shaped(kiln_model *m, const void *const *inputs, void *const *outputs,
                                                int64_t *const *output_dims);

/* ---- compilation options and ahead-of-time compilation (api/compile.c) --- */

/* Target of code generation for models compiled afterwards: an LLVM triple
 * (NULL: the host's; e.g. "aarch64-linux-gnu" to cross compile), a CPU
 * (NULL: the host CPU for the host triple, "generic" otherwise) and a
 * feature string ("+avx2,-avx512f"; NULL: the host CPU's features when the
 * CPU is the host's, else none). Unknown triples, CPUs or features are
 * reported when a model is optimized or compiled. Strings are copied.
 * Set it before kiln_model_optimize: the passes decide for this target. */
KILN_API kiln_status kiln_context_set_target(kiln_context *ctx, const char *triple, const char *cpu,
                                             const char *features);
/* One line describing the target as the passes see it (vector width,
 * registers, GEMM tile and threshold, weight pre-packing, convolution
 * layout), e.g. for `kiln opt --print-target`; fails like
 * kiln_model_optimize for an unknown triple or CPU. Caller frees *text
 * with kiln_free. */
KILN_API kiln_status kiln_context_describe_target(kiln_context *ctx, char **text);
/* Threads that executables made from ctx afterwards (JIT'd or opened) use
 * for parallel loops, the calling thread included; n <= 0: one per core
 * this process may run on (the default). kiln_executable_set_num_threads
 * changes one executable later. */
KILN_API kiln_status kiln_context_set_num_threads(kiln_context *ctx, int n);
/* LLVM optimisation level 0..3 (default 3). */
KILN_API kiln_status kiln_context_set_opt_level(kiln_context *ctx, int level);
/* The C compiler driver that links shared objects (NULL: "cc" for the host,
 * "<triple>-gcc" when cross compiling). Copied. */
KILN_API kiln_status kiln_context_set_linker(kiln_context *ctx, const char *driver);

/* What kiln_model_emit produces. */
typedef enum kiln_emit_kind {
  KILN_EMIT_IR = 0,     /* the model's IR as it is, after kiln_model_optimize if that ran (text) */
  KILN_EMIT_LLVM = 1,   /* the optimised LLVM IR (text) */
  KILN_EMIT_ASM = 2,    /* assembly (text) */
  KILN_EMIT_OBJECT = 3, /* an ELF object (binary) */
  KILN_EMIT_HEADER = 4, /* the C header of the artifact (text) */
} kiln_emit_kind;

/* Compiles m for the context's target and returns one stage of the result.
 * `name` is the artifact's name, a C identifier used in its symbols
 * (kiln_<name>_run); NULL derives one from the module's name. Caller owns
 * *data (NUL-terminated for text kinds; *len excludes the NUL); free with
 * kiln_free. */
KILN_API kiln_status kiln_model_emit(kiln_model *m, const char *name, kiln_emit_kind kind, char **data, size_t *len);

/* Ahead of time: compiles m into a shared object at so_path (see
 * kiln/artifact.h for what it exports; kiln_executable_open runs it in
 * this process, the generated header lets any C program link it without
 * libkiln) and, unless header_path is NULL, its C header. Linking needs
 * a C compiler driver (kiln_context_set_linker). Compiling the same model
 * with the same options gives byte-identical files. On failure no file is
 * left at either path. */
KILN_API kiln_status kiln_model_compile(kiln_model *m, const char *name, const char *so_path,
                                        const char *header_path);

/* ---- executables: compiled code, JIT'd or loaded (api/executable.c) ------ */

/*
 * An executable is compiled code ready to run: made in this process by the
 * JIT (kiln_model_jit, kiln_compile_*) or loaded from a shared object made
 * by kiln_model_compile (kiln_executable_open). Both kinds are used through
 * the same functions below and destroyed with kiln_executable_destroy.
 * Errors while making one go to the context it is made from; afterwards
 * the executable does not use the context (either may be destroyed first).
 *
 * Concurrency rule: kiln_executable_run may be called on one executable
 * from any number of threads at once, each call bringing its own output
 * buffers and its own workspace (or NULL: the call allocates one). Nothing
 * else an executable holds changes while it runs, so no lock is needed.
 * kiln_executable_set_num_threads is safe at any time. Destroying an
 * executable while a run on it is in progress is not allowed.
 * Every executable has one thread pool for its parallel loops; a run that
 * finds the pool busy with another run computes on its own thread instead
 * of waiting. The pool's threads are joined by kiln_executable_destroy.
 */
typedef struct kiln_executable kiln_executable;

/* JIT: compiles m for this machine (LLVM ORC LLJIT, the same code
 * generator as kiln_model_compile) with the context's options (CPU,
 * features, optimisation level; a cross --target is refused) and returns
 * an executable. The model is compiled as it is: run kiln_model_optimize
 * first for the pass pipeline (the kiln_compile_* functions below do).
 * The model may be destroyed afterwards. Caller owns *out; destroy with
 * kiln_executable_destroy. */
KILN_API kiln_status kiln_model_jit(kiln_model *m, kiln_executable **out);

/* Load, optimise with the default pass pipeline and JIT in one call: an
 * ONNX file, ONNX bytes in memory (a model with external data needs the
 * file form), or IR text (docs/ir.md). Symbolic dimensions are bound by
 * kiln_context_bind_input_shape. Nothing but *out is left behind. Caller
 * owns *out; destroy with kiln_executable_destroy. */
KILN_API kiln_status kiln_compile_onnx_file(kiln_context *ctx, const char *path, kiln_executable **out);
KILN_API kiln_status kiln_compile_onnx_bytes(kiln_context *ctx, const void *bytes, size_t len,
                                             kiln_executable **out);
KILN_API kiln_status kiln_compile_kir(kiln_context *ctx, const char *text, size_t len, kiln_executable **out);

/* Opens a shared object made by kiln_model_compile (dlopen; `path` is a
 * file path, never searched in the library path) and checks its
 * description. Opening the same file twice gives handles on one loaded
 * copy (one thread pool, one thread count). Code for CPU features this
 * machine lacks is refused with KILN_ERR_UNSUPPORTED, the message naming
 * them (as is a JIT target CPU this machine lacks). Caller owns *out;
 * destroy with kiln_executable_destroy. */
KILN_API kiln_status kiln_executable_open(kiln_context *ctx, const char *path, kiln_executable **out);
/* Stops the executable's thread pool (JIT) or unloads the object, and
 * frees the handle. NULL is fine. */
KILN_API void kiln_executable_destroy(kiln_executable *exe);

/* The executable's name (kiln_<name>_run in a .so) and its description;
 * both owned by the executable, valid until it is destroyed. The
 * description is a `const kiln_artifact_desc *` (kiln/artifact.h), the
 * same structure for JIT'd code and for a loaded .so. */
KILN_API const char *kiln_executable_name(const kiln_executable *exe);
KILN_API const void *kiln_executable_description(const kiln_executable *exe);
KILN_API int kiln_executable_num_inputs(const kiln_executable *exe);
KILN_API int kiln_executable_num_outputs(const kiln_executable *exe);
/* Pointers in *out are owned by the executable, valid until it is
 * destroyed. */
KILN_API kiln_status kiln_executable_input(const kiln_executable *exe, int i, kiln_tensor_info *out);
KILN_API kiln_status kiln_executable_output(const kiln_executable *exe, int i, kiln_tensor_info *out);
/* Index of the input or output with this name, or -1. */
KILN_API int kiln_executable_find_input(const kiln_executable *exe, const char *name);
KILN_API int kiln_executable_find_output(const kiln_executable *exe, const char *name);
/* Bytes of workspace a run needs (a multiple of 64; may be 0). */
KILN_API size_t kiln_executable_workspace_size(const kiln_executable *exe);
/* Threads for parallel loops, the calling thread included (n <= 0: one
 * per core this process may run on). Applies from the next parallel loop.
 * The default comes from kiln_context_set_num_threads. */
KILN_API void kiln_executable_set_num_threads(kiln_executable *exe, int n);
KILN_API int kiln_executable_num_threads(const kiln_executable *exe);
/* Runs the executable: inputs[i] and outputs[i] are dense arrays of input
 * and output i in their layouts (as for kiln_model_evaluate), caller-owned;
 * outputs must not overlap each other, an input, or the workspace.
 * `workspace` is kiln_executable_workspace_size bytes aligned to 64, owned
 * by the caller and holding nothing between calls, or NULL (the call
 * allocates and frees one). See the concurrency rule above. It records no
 * message in the context (that would race); the status says what failed:
 * KILN_ERR_INVALID_ARGUMENT (NULL buffers, misaligned workspace),
 * KILN_ERR_OUT_OF_MEMORY, KILN_ERR_RUNTIME (a custom_call failed). */
KILN_API kiln_status kiln_executable_run(kiln_executable *exe, const void *const *inputs, void *const *outputs,
                                         void *workspace);

/* ---- executables with symbolic dimensions (api/executable.c) ------------ */

/*
 * An executable compiled from a model with symbolic dimensions
 * (kiln_context_bound_input_shape; `kiln compile --max-shape`) runs at any
 * shapes within the bounds, each symbol taking a value from 1 to its bound.
 * kiln_executable_input/output give such a dimension as its bound (the
 * size of the largest array it can be), and kiln_executable_run runs at
 * the bounds; kiln_executable_run_shaped runs at the actual shapes. The
 * functions below also work on static executables (no symbols; every
 * dimension KILN_DIM_STATIC; run_shaped takes exactly their own shapes).
 */

/* The number of symbols (0: every dimension is static). */
KILN_API int kiln_executable_num_symbols(const kiln_executable *exe);
/* Symbol k (0 <= k < num_symbols): its name as in the model ("batch") and
 * its bound. Either out-pointer may be NULL. The name is owned by the
 * executable, valid until it is destroyed. */
KILN_API kiln_status kiln_executable_symbol(const kiln_executable *exe, int k, const char **name, int64_t *bound);
/* 1 when symbol k is a size the run computes from values (NonZero's count,
 * a TopK's k input; 0 <= value <= bound), known only after
 * kiln_executable_run_shaped returns (which reports the outputs'
 * dimensions); 0 for a size the input shapes give, or a bad argument. */
KILN_API int kiln_executable_symbol_is_computed(const kiln_executable *exe, int k);

/* What a dimension of an input or output is: a symbol's index (>= 0) when
 * it is that symbol alone, else one of these. */
enum {
  KILN_DIM_STATIC = -1, /* a fixed size (the dims entry) */
  KILN_DIM_EXPR = -2,   /* an expression of symbols, e.g. batch*49 (the shape text shows it); dims holds its bound */
  KILN_DIM_NONE = -3,   /* no such input, output or dimension */
};
KILN_API int kiln_executable_input_dim_symbol(const kiln_executable *exe, int i, int dim);
KILN_API int kiln_executable_output_dim_symbol(const kiln_executable *exe, int i, int dim);
/* Input or output i's shape as text, symbolic dimensions written by name
 * or as expressions: "f32[batch,3,224,224]", "f32[batch*49,512]". Owned by
 * the executable, valid until it is destroyed; NULL for a bad index. */
KILN_API const char *kiln_executable_input_shape(const kiln_executable *exe, int i);
KILN_API const char *kiln_executable_output_shape(const kiln_executable *exe, int i);

/* Runs at the actual input shapes: input_shapes[i] (only rank and dims
 * read) describes input i, a dense array in its layout at those
 * dimensions. The shapes give the symbols' values: each dimension that is
 * a symbol alone binds it (1 to its bound, the same value wherever it
 * appears), and every other dimension must equal what the binding makes of
 * it. Shapes that do not fit return KILN_ERR_SHAPE (malformed ones
 * KILN_ERR_INVALID_ARGUMENT) before anything runs, with a message naming
 * the input, the dimension and the symbol or bound. Each output is written
 * densely at its actual dimensions, which the call stores into
 * output_dims[i] (room for the output's rank; output_dims or an entry may
 * be NULL); an output buffer sized from kiln_executable_output (the bounds)
 * always has room. Inputs, outputs and workspace as for
 * kiln_executable_run, with the same concurrency rule.
 * `errors`: the context that gets the message of a failure (its last error
 * and diagnostics callback), or NULL for none. A context is used by one
 * thread at a time: concurrent runs pass different contexts or NULL. */
KILN_API kiln_status kiln_executable_run_shaped(kiln_executable *exe, const void *const *inputs,
                                                const kiln_tensor_info *input_shapes, void *const *outputs,
                                                int64_t *const *output_dims, void *workspace, kiln_context *errors);
/* The outputs' actual dimensions at these input shapes, without running
 * (to size output buffers exactly): checks the shapes as
 * kiln_executable_run_shaped does and stores output i's dimensions into
 * output_dims[i] (a NULL entry is skipped). `errors` as above. */
KILN_API kiln_status kiln_executable_output_dims(const kiln_executable *exe, const kiln_tensor_info *input_shapes,
                                                 int64_t *const *output_dims, kiln_context *errors);

/* ---- instrumentation: profiles and verification (api/instrument.c) ------ */

/* What kiln_context_set_instrument compiles in. */
enum {
  /* The run function calls the executable's trace hook (kiln_executable_set_trace)
   * before and after each kernel, and each thread of a parallel loop calls it
   * around its share of the loop; the executable carries a table describing
   * its kernels (kiln_executable_kernel). */
  KILN_INSTRUMENT_KERNELS = 1 << 0,
};
/* Instrumentation for models compiled afterwards, JIT and AOT (default 0:
 * nothing is compiled in, so it costs nothing). */
KILN_API kiln_status kiln_context_set_instrument(kiln_context *ctx, unsigned flags);
/* For testing kiln verify only: in models compiled afterwards, the kernel
 * of the entry instruction named `kernel` (as in the optimised IR, e.g.
 * "fusion.3") adds 1 to the first element of its first output after it
 * runs (floating and integer types; a pred is flipped). NULL: none. A name
 * no kernel has is an error when the model is compiled. Copied. */
KILN_API kiln_status kiln_context_set_debug_perturb(kiln_context *ctx, const char *kernel);
/* JIT: write each JIT'd function's address, size and name to
 * /tmp/perf-PID.map, so `perf report` names kernels (on: 1). The default
 * is off, or on when the environment variable KILN_PERF_MAP is set to
 * anything but "" or "0" when the context is created. */
KILN_API kiln_status kiln_context_set_perf_map(kiln_context *ctx, int on);

/* One kernel of an instrumented executable. Strings and arrays are owned
 * by the executable, valid until it is destroyed. */
typedef struct kiln_kernel_info {
  const char *name;       /* the entry instruction it computes, as in the optimised IR ("fusion.12") */
  const char *kind;       /* "gemm", "conv", "dwconv", "loop", "reduce", "sort", "copy", "custom_call", ... */
  const char *onnx_nodes; /* names of the ONNX nodes it covers, comma-separated, each once ("" none known) */
  const char *onnx_ops;   /* their op types, in the same order */
  const char *shape;      /* its result's shape as IR text: "f32[1,64,56,56]", "(f32[2], s64[2])" */
  double flops;           /* arithmetic operations; a multiply-add counts 2 */
  double bytes;           /* bytes of its distinct operands read plus its results written, each once */
  int num_outputs;        /* arrays it writes (tuple elements) */
  const kiln_tensor_info *outputs;       /* num_outputs; named NAME, or NAME#k for tuple element k */
  const int32_t *const *minor_to_major;  /* num_outputs layouts (rank entries each) of the arrays */
} kiln_kernel_info;

/* Kernels of an instrumented executable, in launch order (0 when it was
 * compiled without KILN_INSTRUMENT_KERNELS). */
KILN_API int kiln_executable_num_kernels(const kiln_executable *exe);
KILN_API kiln_status kiln_executable_kernel(const kiln_executable *exe, int i, kiln_kernel_info *out);

typedef enum kiln_trace_phase {
  KILN_TRACE_KERNEL_BEGIN = 0, /* the run's thread, before kernel `kernel`; buffers NULL */
  KILN_TRACE_KERNEL_END = 1,   /* the run's thread, after it; buffers: its num_outputs arrays, in their layouts */
  KILN_TRACE_WORK_BEGIN = 2,   /* thread `thread` (0: the run's own) starts its share of the kernel's parallel loop */
  KILN_TRACE_WORK_END = 3,     /* ... and ends it; buffers NULL */
} kiln_trace_phase;
typedef void (*kiln_trace_fn)(void *user, int kernel, kiln_trace_phase phase, int thread, void *const *buffers);
/* Sets the trace hook of an instrumented executable (NULL: none). It is
 * called from the run's thread and from the pool's threads at once. Change
 * it only while no run is in progress; with a hook set, run one call at a
 * time. KILN_ERR_UNSUPPORTED when exe was compiled without instrumentation. */
KILN_API kiln_status kiln_executable_set_trace(kiln_executable *exe, kiln_trace_fn fn, void *user);

/* Called by kiln_model_evaluate_trace with each value of the entry
 * computation: info->name is the instruction's name (NAME#k for element k
 * of a tuple), data the dense row-major array (valid during the call). */
typedef void (*kiln_value_fn)(void *user, const kiln_tensor_info *info, const void *data);
/* kiln_model_evaluate, also handing every intermediate value to fn, in
 * instruction order. */
KILN_API kiln_status kiln_model_evaluate_trace(kiln_model *m, const void *const *inputs, void *const *outputs,
                                               kiln_value_fn fn, void *user);
/* A new model computing only the entry instruction named `inst` of m: its
 * parameters are that instruction's distinct operands (named after them,
 * row-major) except constants, which stay constants (weights keep their
 * pre-packed layout, so the kernel compiles as it did in m); its one output
 * the instruction's value (NAME#k, one per element, for a tuple; a fusion
 * stays a fusion, calling a copy of its computation). Used for
 * reproducers. Caller owns *out. */
KILN_API kiln_status kiln_model_extract(kiln_model *m, const char *inst, kiln_model **out);

/* ---- ONNX files -------------------------------------------------------- */

/* Loads an ONNX model file whatever its name ends with. Caller owns *out;
 * destroy with kiln_model_destroy. */
KILN_API kiln_status kiln_model_load_onnx(kiln_context *ctx, const char *path, kiln_model **out);

#define KILN_MAX_RANK 8

/* A dense row-major array on the host. */
typedef struct kiln_host_tensor {
  kiln_dtype dtype;
  int rank;
  int64_t dims[KILN_MAX_RANK];
  size_t nbytes;
  void *data; /* nbytes bytes */
  char *name; /* "" when the file names none */
} kiln_host_tensor;

/* Reads an ONNX TensorProto file, such as the input_N.pb / output_N.pb
 * files of ONNX's backend tests; external data is read only from the
 * file's folder. On success the caller owns out->data and out->name:
 * release them with kiln_host_tensor_free. Element types kiln has no
 * counterpart for (string, complex) give KILN_ERR_UNSUPPORTED, a malformed
 * file KILN_ERR_PARSE. On failure *out holds nothing to free. */
KILN_API kiln_status kiln_tensor_read_onnx(kiln_context *ctx, const char *path, kiln_host_tensor *out);
/* Frees what t holds and zeroes it; NULL is fine. */
KILN_API void kiln_host_tensor_free(kiln_host_tensor *t);
/* Like kiln_model_load_onnx, with n model inputs frozen to values: each
 * values[i] (named by its `name`) becomes a constant instead of an input, so
 * parts of the model that compute shapes from it are evaluated at import
 * time (a Reshape whose target shape is an input, for instance). The values
 * stay the caller's. */
KILN_API kiln_status kiln_model_load_onnx_with_values(kiln_context *ctx, const char *path, int n,
                                                      const kiln_host_tensor *values, kiln_model **out);

#ifdef __cplusplus
}
#endif
#endif

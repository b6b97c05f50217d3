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
 * at a time. Executables are different: see kiln_executable_run.
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

/* Creates a context with default options (host CPU, all cores, -O3).
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

/* ---- models ------------------------------------------------------------ */

/* Loads IR text (docs/ir.md); `file` names it in messages (may be NULL).
 * Caller owns *out; destroy with kiln_model_destroy. */
KILN_API kiln_status kiln_model_from_kir(kiln_context *ctx, const char *text, size_t len, const char *file,
                                         kiln_model **out);
/* Loads a file: .onnx as ONNX, anything else as IR text. */
KILN_API kiln_status kiln_model_load_file(kiln_context *ctx, const char *path, kiln_model **out);
KILN_API void kiln_model_destroy(kiln_model *m);

KILN_API int kiln_model_num_inputs(const kiln_model *m);
KILN_API int kiln_model_num_outputs(const kiln_model *m);
KILN_API kiln_status kiln_model_input(const kiln_model *m, int i, kiln_tensor_info *out);
KILN_API kiln_status kiln_model_output(const kiln_model *m, int i, kiln_tensor_info *out);
/* Index of the input or output with this name, or -1. */
KILN_API int kiln_model_find_input(const kiln_model *m, const char *name);
KILN_API int kiln_model_find_output(const kiln_model *m, const char *name);

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

/* Optimises the model with the pass pipeline: `passes` is NULL for the
 * default pipeline or a comma-separated list of pass names; `disable`
 * (may be NULL) lists passes to skip. */
KILN_API kiln_status kiln_model_optimize(kiln_model *m, const char *passes, const char *disable);
/* Names and one-line summaries of the passes of the default pipeline, in
 * order; i from 0 until it returns KILN_ERR_INVALID_ARGUMENT. */
KILN_API kiln_status kiln_pass_info(int i, const char **name, const char **summary);

/* Runs the model in the reference interpreter. inputs[i] and outputs[i] are
 * dense row-major arrays of input/output i (caller-owned; outputs sized
 * from kiln_model_output). */
KILN_API kiln_status kiln_model_evaluate(kiln_model *m, const void *const *inputs, void *const *outputs);

#ifdef __cplusplus
}
#endif
#endif

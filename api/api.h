/*
 * Internals behind include/kiln/kiln.h: the structures of the opaque
 * handles and the helpers the API files share.
 */
#ifndef KILN_API_API_H
#define KILN_API_API_H

#include "kiln/kiln.h"
#include "ir/diag.h"
#include "ir/ir.h"

typedef struct api_binding {
  char *name;
  int rank;
  int64_t dims[IR_MAX_RANK];
} api_binding;

struct kiln_context {
  kiln_diag_fn user_fn;
  void *user_data;
  diag sink;          /* forwards to user_fn and keeps the first error */
  char last_error[4096];
  bool have_error;
  api_binding *bindings;
  int nbindings;
  api_binding *bounds; /* kiln_context_bound_input_shape: symbolic dimensions' bounds */
  int nbounds;
  int num_threads;    /* 0: one per core */
  int opt_level;      /* 0..3 */
  char *cpu, *triple, *features; /* NULL: host */
  char *linker;       /* C compiler driver for linking artifacts; NULL: default */
  char *dump_pattern;
  kiln_dump_fn dump_fn;
  void *dump_user;
  bool verify_passes;
  bool remarks;       /* report pass decisions as remarks */
  unsigned instrument; /* KILN_INSTRUMENT_* (api/instrument.c) */
  char *debug_perturb; /* kiln_context_set_debug_perturb's kernel, or NULL */
  bool perf_map;      /* JIT: write /tmp/perf-PID.map (default: KILN_PERF_MAP set and not "0") */
};

struct kiln_model {
  kiln_context *ctx;
  ir_module *m;
  /* Cached descriptions of inputs and outputs (rebuilt on change). */
  int ninputs, noutputs;
  kiln_tensor_info *inputs, *outputs;
  int64_t *dims; /* storage for the dims of all infos */
};

/* Compiled code (api/executable.c): a loaded .so (dl) or JIT'd code
 * (jit); either way described by the artifact ABI's description, through
 * which everything else (run, thread count) goes. */
struct kiln_executable {
  kiln_context *ctx;
  void *dl;                     /* dlopen handle, or NULL */
  struct cg_jit *jit;           /* JIT'd code, or NULL */
  const struct kiln_artifact_desc *desc;
  kiln_tensor_info *inputs, *outputs; /* views of desc */
  /* Instrumented code (api/instrument.c): the kernel table as the API
   * hands it out (views of desc, arrays owned), and the user's trace hook
   * that the one registered with the code forwards to. */
  int nkernels;
  kiln_kernel_info *kernels;
  kiln_tensor_info *kernel_outputs;     /* all kernels' outputs, back to back */
  const int32_t **kernel_layouts;       /* the same, their minor_to_major */
  kiln_trace_fn trace_fn;
  void *trace_user;
  /* Symbolic dimensions (api/executable.c): each input's and output's
   * dimensions (KILN_MAX_RANK slots per tensor, inputs first) read from
   * the description, expressions compiled to postfix in expr_ops, and each
   * tensor's shape text (the description's, or made here for a static
   * tensor or an older artifact). */
  int nsyms;
  const unsigned char *computed; /* nsyms: 1 for a size the run sets (set_symbol); NULL: none is */
  struct api_dim *dims;
  struct api_expr_op *expr_ops;
  const char **shape_text;
  char **shape_text_own; /* the texts made here (NULL where the description's is used) */
};

/* Reads the kernel table of exe->desc (instrumented code) into exe's
 * kernel fields; false after reporting a malformed one (api/instrument.c). */
bool api_executable_kernels(kiln_executable *exe, const char *what);

/* Checks the description the code at exe->dl or exe->jit gives (`what`
 * names it in messages), fills exe's infos and applies the context's
 * thread count. On failure reports and destroys exe. */
kiln_status api_executable_init(kiln_executable *exe, const struct kiln_artifact_desc *desc, const char *what,
                                 kiln_executable **out);

/* Starts a fallible API call: clears the last error. */
void api_begin(kiln_context *ctx);
/* Records msg as the last error (unless an earlier diagnostic in this call
 * already did) and returns s. */
kiln_status api_fail(kiln_context *ctx, kiln_status s, const char *fmt, ...) DIAG_PRINTF(3, 4);
/* Wraps a module (taking ownership) into a model. */
kiln_status api_model_wrap(kiln_context *ctx, ir_module *m, kiln_model **out);

/* What a model file holds, told by its first bytes (api/kiln_api.c):
 * kiln_model_load_file picks the loader by content, never by name. */
typedef enum api_kind { API_KIND_TEXT, API_KIND_BINARY, API_KIND_ELF } api_kind;
/* Reports (naming path) an unreadable or empty file. */
kiln_status api_file_kind(kiln_context *ctx, const char *path, api_kind *kind);

/* ONNX import behind the public API (api/onnx_api.c): the file at path
 * (external data beside it) or, when path is NULL, len bytes at `bytes`;
 * with the context's input bindings and `nvalues` inputs frozen to values
 * (may be NULL, 0). */
struct onnx_tensor;
kiln_status api_import_onnx(kiln_context *ctx, const char *path, const void *bytes, size_t len,
                            const struct onnx_tensor *values, int nvalues, kiln_model **out);

#endif

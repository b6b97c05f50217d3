/*
 * Shared pieces of the `kiln` command line: the command table, argument
 * helpers and error reporting. Only tools/ prints and exits.
 */
#ifndef KILN_TOOLS_CLI_H
#define KILN_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "kiln/kiln.h"
#include "tools/npy.h"

typedef struct cli_command {
  const char *name;
  const char *summary;
  const char *usage; /* full help text */
  int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

/* Every command's handler; the table is in kiln.c. */
int cmd_opt(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_import(int argc, char **argv);    /* cmd_onnx.c */
int cmd_test_onnx(int argc, char **argv); /* cmd_onnx.c */
int cmd_onnx_ops(int argc, char **argv);  /* cmd_onnx_ops.c */
int cmd_compile(int argc, char **argv);   /* cmd_compile.c */
int cmd_run(int argc, char **argv);       /* cmd_compile.c */
int cmd_info(int argc, char **argv);      /* cmd_compile.c */
int cmd_profile(int argc, char **argv);   /* cmd_profile.c */
int cmd_verify(int argc, char **argv);    /* cmd_verify.c */

/* Prints "kiln: error: ..." to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the context's last error (or `what` if none) and returns 1. */
int cli_fail(kiln_context *ctx, const char *what);
/* Creates a context whose diagnostics go to stderr (warnings and errors;
 * remarks only when `remarks`). Exits on failure. */
kiln_context *cli_context(bool remarks);

/* For an argument of command `cmd` that matched none of its options:
 * reports an unknown option ("-x"; a lone "-" is an argument), else
 * stores the command's one positional argument (named `what` in messages)
 * in *pos, reporting a second one. False after reporting. */
bool cli_positional(const char *cmd, const char *what, const char *arg, const char **pos);
/* Reports that the positional argument is missing (false) unless pos is set. */
bool cli_need_positional(const char *cmd, const char *what, const char *pos);
/* Writes len bytes to the file path (created or truncated), or to stdout
 * when path is NULL. Prints an error and returns false on failure (and
 * then removes the partly written file). */
bool cli_write_file(const char *path, const void *data, size_t len);

/* "--flag=value" or "--flag value": if argv[*i] is this flag, stores the
 * value, advances *i past it and returns true. Missing value: error+exit. */
bool cli_flag_value(int argc, char **argv, int *i, const char *flag, const char **value);
/* The same for a flag that may be given once: *value must start NULL; a
 * second occurrence is an error (exit 2). */
bool cli_flag_once(int argc, char **argv, int *i, const char *flag, const char **value);
/* Strict integer parsing of a flag's value: the whole string, decimal, in
 * [min, max]; otherwise prints "FLAG takes ..." and returns false (the
 * caller exits 2). */
bool cli_parse_int(const char *flag, const char *s, long long min, long long max, long long *out);
/* Writes to stderr what kiln_context_set_ir_dump hands over (--dump-after). */
void cli_dump_to_stderr(void *user, const char *pass, const char *text);

/* Options that every command reading a model shares (one parser, so that
 * opt, compile, run, eval and import spell and check them alike). */
enum {
  CLI_MOPT_SHAPE = 1 << 0,   /* --input-shape NAME=DIMS, --max-shape NAME=DIMS (repeatable) */
  CLI_MOPT_PASSES = 1 << 1,  /* --passes=LIST, --disable-pass=LIST */
  CLI_MOPT_DUMP = 1 << 2,    /* --dump-after=LIST */
  CLI_MOPT_ELIDE = 1 << 3,   /* --elide-constants */
  CLI_MOPT_REMARKS = 1 << 4, /* --remarks */
};
typedef struct cli_model_opts {
  const char *passes, *disable, *dump;
  unsigned print_flags; /* KILN_PRINT_ELIDE_CONSTANTS */
  bool remarks;
  int nshapes;
  const char *shapes[64]; /* the --input-shape specs, checked */
  int nmax;
  const char *max_shapes[64]; /* the --max-shape specs, checked */
  const char *first;      /* the first of these options given (for "does not apply" errors) */
} cli_model_opts;
/* If argv[*i] is one of the options in `accept`, records it in o (advancing
 * *i past a value) and returns 1; 0 if it is none of them; -1 after
 * reporting bad usage (malformed or repeated). */
int cli_model_option(int argc, char **argv, int *i, unsigned accept, cli_model_opts *o);
/* A context for a command with these options: remarks, IR dumps, the
 * --input-shape bindings and --max-shape bounds applied. Exits on failure. */
kiln_context *cli_model_context(const cli_model_opts *o);
/* Loads the model at path (any kind: kiln_model_load_file detects it). An
 * input that neither --input-shape nor --max-shape names but that an
 * --input NAME=FILE.npy gives takes its shape from the file: when the
 * model does not load without, the shapes of those files are bound and it
 * is loaded again. A model with symbolic dimensions (--max-shape) is then
 * made static at the shapes of the --input files (kiln_model_bind_shapes)
 * when any --input is given (an input without a file takes its bounds, and
 * the missing file is reported when inputs are read); with no --input it
 * stays symbolic.
 * Diagnostics go to stderr. */
kiln_status cli_load_model(kiln_context *ctx, const char *path, const cli_model_opts *o, int nspecs, char **specs,
                           kiln_model **out);

/* LLVM IR (asm_syntax false) or assembly text with constant data over 64
 * bytes replaced by <elided> markers and a note on top (tools/elide.c).
 * Caller frees; NULL when out of memory. */
char *cli_elide_constants(const char *text, size_t len, bool asm_syntax, size_t *outlen);

/* Checks, before any work, that path can be written as a file: its folder
 * exists and is writable, and path is not a folder. Prints an error naming
 * the path (what: "output", "header") and returns false otherwise. */
bool cli_check_output_path(const char *cmd, const char *what, const char *path);
/* The base name of path without its last extension ("dir/my-model.v2.onnx"
 * -> "my-model.v2"), malloc'd; NULL when out of memory. */
char *cli_stem(const char *path);
/* The C name an artifact gets from a file name (see kiln compile --help):
 * the stem, with every character other than [A-Za-z0-9_] replaced by '_',
 * a '_' in front of a leading digit, cut to 56 characters; "_model"
 * appended to the names libkiln reserves (artifact, executable). */
void cli_symbol_name(const char *path, char *buf, size_t n);
/* "[1,3,224,224]" ("[]" for rank 0), cut to fit n bytes. */
void cli_dims_str(int rank, const int64_t *dims, char *buf, size_t n);
/* The same after the element type: "f32[1,3,224,224]". */
void cli_shape_str(kiln_dtype t, int rank, const int64_t *dims, char *buf, size_t n);
/* Parses "1x3x224x224" (or "" / "scalar" for rank 0). */
bool cli_parse_dims(const char *s, int *rank, int64_t *dims);
/* Applies one --input-shape NAME=DIMS to ctx; prints an error and returns
 * false when malformed. */
bool cli_bind_shape(kiln_context *ctx, const char *spec);
/* Applies one --max-shape NAME=DIMS to ctx (kiln_context_bound_input_shape);
 * prints an error and returns false when malformed. */
bool cli_bound_shape(kiln_context *ctx, const char *spec);

/* Inputs given as NAME=FILE.npy, matched to a model's inputs. */
typedef struct cli_inputs {
  int n;
  npy_array *arrays;    /* one per model input, in model order */
  const void **ptrs;
  bool usage_error;     /* after a failed cli_load_inputs: bad usage (exit 2: a malformed spec, an unknown,
                           repeated or missing input) rather than a bad file (exit 1) */
} cli_inputs;
/* Reads every --input spec and checks names, dtypes and shapes against the
 * model's inputs (each input exactly once). A file with the untyped '<V2'
 * dtype is read as bfloat16 for a bfloat16 input (tools/npy.h). Prints
 * errors; returns false. */
bool cli_load_inputs(int ninfo, const kiln_tensor_info *info, int nspecs, char **specs, cli_inputs *out);
/* The same for an executable with symbolic dimensions: only element types
 * are checked (the executable checks the dimensions when it runs); text[i]
 * is input i's shape as messages show it ("f32[batch,16], batch in [1, 8]"). */
bool cli_load_inputs_shaped(int ninfo, const kiln_tensor_info *info, const char *const *text, int nspecs, char **specs,
                            cli_inputs *out);
void cli_free_inputs(cli_inputs *in);
/* Every input filled with pseudo-random values from `seed` (the same seed
 * gives the same values on every machine): floating types uniform in
 * [-1, 1), integer types 0 (a valid index for any Gather or one-hot), pred
 * random. For kiln profile and kiln verify when no --input is given.
 * Prints an error and returns false when out of memory. */
bool cli_random_inputs(int ninfo, const kiln_tensor_info *info, unsigned long long seed, cli_inputs *out);

/* Output buffers sized from the model's outputs. */
typedef struct cli_outputs {
  int n;
  npy_array *arrays;
  void **ptrs;
} cli_outputs;
bool cli_alloc_outputs(int ninfo, const kiln_tensor_info *info, cli_outputs *out);
/* After a run that stored each output's actual dimensions into its array's
 * dims (sizes that symbols or values decide): each array's byte count
 * becomes that of the dense array at them, and info[i].dims points there. */
void cli_outputs_at_dims(kiln_tensor_info *info, cli_outputs *out);
/* Writes NAME.npy files (name sanitised) into dir, creating dir; on failure
 * removes what it wrote. */
bool cli_write_outputs(const kiln_tensor_info *info, const cli_outputs *o, const char *dir);
/* Prints each output: name, type, shape and up to `limit` values. */
void cli_print_outputs(const kiln_tensor_info *info, const cli_outputs *o, int limit);
/* The infos of a model's inputs or outputs as a malloc'd array. */
kiln_tensor_info *cli_model_inputs(const kiln_model *m);
kiln_tensor_info *cli_model_outputs(const kiln_model *m);
void cli_free_outputs(cli_outputs *o);

/* A shape text of exe ("f32[batch,16]") followed by the range of each
 * symbol it names ("f32[batch,16], batch in [1, 8]"), malloc'd; NULL when
 * shape is NULL or out of memory. */
char *cli_shape_with_ranges(const kiln_executable *exe, const char *shape);

/* A monotonic clock in milliseconds. */
double cli_now_ms(void);
/* Whether path is an ELF file (a compiled artifact) rather than a model. */
bool cli_is_artifact(const char *path);
/* Loads a model (symbolic inputs may take their shapes from the --input
 * files, as cli_load_model), runs the passes and JITs it with the
 * context's options; `timing` prints the phases' times to stderr. */
kiln_status cli_jit_model(kiln_context *ctx, const char *path, const cli_model_opts *mo, int nspecs, char **specs,
                          bool timing, kiln_executable **out);
/* For kiln run: like cli_jit_model, except that a model with symbolic
 * dimensions (--max-shape) is compiled once as it is, to run at the
 * --input files' shapes (kiln_executable_run_shaped); only when code
 * generation refuses its symbolic dimensions as not supported yet is it
 * made static at those shapes and compiled again (cli_jit_model), silently
 * unless `verbose`, which says on stderr which happened. */
kiln_status cli_jit_model_shaped(kiln_context *ctx, const char *path, const cli_model_opts *mo, int nspecs,
                                 char **specs, bool timing, bool verbose, kiln_executable **out);

#endif

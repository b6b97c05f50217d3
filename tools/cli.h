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
int cmd_compile(int argc, char **argv);   /* cmd_compile.c */
int cmd_run(int argc, char **argv);       /* cmd_compile.c */

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
/* "[1,3,224,224]" ("[]" for rank 0), cut to fit n bytes. */
void cli_dims_str(int rank, const int64_t *dims, char *buf, size_t n);
/* The same after the element type: "f32[1,3,224,224]". */
void cli_shape_str(kiln_dtype t, int rank, const int64_t *dims, char *buf, size_t n);
/* Parses "1x3x224x224" (or "" / "scalar" for rank 0). */
bool cli_parse_dims(const char *s, int *rank, int64_t *dims);
/* Applies one --input-shape NAME=DIMS to ctx; prints an error and returns
 * false when malformed. */
bool cli_bind_shape(kiln_context *ctx, const char *spec);

/* Inputs given as NAME=FILE.npy, matched to a model's inputs. */
typedef struct cli_inputs {
  int n;
  npy_array *arrays;    /* one per model input, in model order */
  const void **ptrs;
} cli_inputs;
/* Reads every --input spec and checks names, dtypes and shapes against the
 * model's inputs (each input exactly once). Prints errors; returns false. */
bool cli_load_inputs(int ninfo, const kiln_tensor_info *info, int nspecs, char **specs, cli_inputs *out);
void cli_free_inputs(cli_inputs *in);

/* Output buffers sized from the model's outputs. */
typedef struct cli_outputs {
  int n;
  npy_array *arrays;
  void **ptrs;
} cli_outputs;
bool cli_alloc_outputs(int ninfo, const kiln_tensor_info *info, cli_outputs *out);
/* Writes NAME.npy files (name sanitised) into dir, creating dir; on failure
 * removes what it wrote. */
bool cli_write_outputs(const kiln_tensor_info *info, const cli_outputs *o, const char *dir);
/* Prints each output: name, type, shape and up to `limit` values. */
void cli_print_outputs(const kiln_tensor_info *info, const cli_outputs *o, int limit);
/* The infos of a model's inputs or outputs as a malloc'd array. */
kiln_tensor_info *cli_model_inputs(const kiln_model *m);
kiln_tensor_info *cli_model_outputs(const kiln_model *m);
void cli_free_outputs(cli_outputs *o);

#endif

/* `kiln opt` and `kiln eval`: IR text in, IR text or interpreted outputs out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"

static void dump_to_stderr(void *user, const char *pass, const char *text) {
  (void)user;
  fprintf(stderr, "// ---- IR after %s ----\n%s", pass, text);
}

int cmd_opt(int argc, char **argv) {
  const char *in = NULL, *out = NULL, *passes = NULL, *disable = NULL, *dump = NULL;
  unsigned flags = 0;
  bool remarks = false;
  for (int i = 1; i < argc; i++) {
    const char *v;
    if (cli_flag_value(argc, argv, &i, "-o", &v)) out = v;
    else if (cli_flag_value(argc, argv, &i, "--passes", &v)) passes = v;
    else if (cli_flag_value(argc, argv, &i, "--disable-pass", &v)) disable = v;
    else if (cli_flag_value(argc, argv, &i, "--dump-after", &v)) dump = v;
    else if (!strcmp(argv[i], "--list-passes")) {
      const char *name, *summary;
      for (int k = 0; kiln_pass_info(k, &name, &summary) == KILN_OK; k++) printf("%-10s %s\n", name, summary);
      return 0;
    } else if (!strcmp(argv[i], "--elide-constants")) flags |= KILN_PRINT_ELIDE_CONSTANTS;
    else if (!strcmp(argv[i], "--remarks")) remarks = true;
    else if (!cli_positional("opt", "input file", argv[i], &in)) return 2;
  }
  if (!cli_need_positional("opt", "input file", in)) return 2;
  kiln_context *ctx = cli_context(remarks);
  kiln_model *m = NULL;
  char *text = NULL;
  int rc = 1;
  kiln_context_set_remarks(ctx, remarks);
  if (dump) kiln_context_set_ir_dump(ctx, dump, dump_to_stderr, NULL);
  if (kiln_model_load_file(ctx, in, &m) != KILN_OK) goto done;
  if ((passes || disable || dump || remarks) && kiln_model_optimize(m, passes, disable) != KILN_OK) goto done;
  if (kiln_model_print(m, flags, &text) != KILN_OK) goto done;
  if (!cli_write_file(out, text, strlen(text))) goto done;
  rc = 0;
done:
  if (rc) cli_fail(ctx, "opt failed");
  kiln_free(text);
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
  return rc;
}

int cmd_eval(int argc, char **argv) {
  const char *model_path = NULL, *outdir = NULL;
  char **specs = calloc((size_t)argc, sizeof *specs);
  int nspecs = 0, limit = 16;
  kiln_context *ctx = cli_context(false);
  int rc = 2;
  if (!specs) goto done;
  for (int i = 1; i < argc; i++) {
    const char *v;
    if (cli_flag_value(argc, argv, &i, "--input", &v)) specs[nspecs++] = (char *)v;
    else if (cli_flag_value(argc, argv, &i, "--output-dir", &v)) outdir = v;
    else if (cli_flag_value(argc, argv, &i, "--input-shape", &v)) {
      if (!cli_bind_shape(ctx, v)) goto done;
    } else if (cli_flag_value(argc, argv, &i, "--print-limit", &v)) {
      limit = atoi(v);
    } else if (!cli_positional("eval", "model", argv[i], &model_path)) goto done;
  }
  if (!cli_need_positional("eval", "model", model_path)) goto done;
  rc = 1;
  kiln_model *m = NULL;
  kiln_tensor_info *ins = NULL, *outs = NULL;
  cli_inputs in = {0};
  cli_outputs out = {0};
  if (kiln_model_load_file(ctx, model_path, &m) != KILN_OK) {
    cli_fail(ctx, "cannot load the model");
    goto done;
  }
  ins = cli_model_inputs(m);
  outs = cli_model_outputs(m);
  if (!ins || !outs) goto cleanup;
  if (!cli_load_inputs(kiln_model_num_inputs(m), ins, nspecs, specs, &in)) goto cleanup;
  if (!cli_alloc_outputs(kiln_model_num_outputs(m), outs, &out)) goto cleanup;
  if (kiln_model_evaluate(m, in.ptrs, out.ptrs) != KILN_OK) {
    cli_fail(ctx, "evaluation failed");
    goto cleanup;
  }
  if (outdir && !cli_write_outputs(outs, &out, outdir)) goto cleanup;
  cli_print_outputs(outs, &out, limit);
  rc = 0;
cleanup:
  cli_free_inputs(&in);
  cli_free_outputs(&out);
  free(ins);
  free(outs);
  kiln_model_destroy(m);
done:
  free(specs);
  kiln_context_destroy(ctx);
  return rc;
}

/* `kiln opt` and `kiln eval`: IR text in, IR text or interpreted outputs out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"

int cmd_opt(int argc, char **argv) {
  const char *in = NULL, *out = NULL, *triple = NULL, *cpu = NULL, *features = NULL, *target_flag = NULL;
  bool print_target = false;
  cli_model_opts mo = {0};
  for (int i = 1; i < argc; i++) {
    int r = cli_model_option(argc, argv, &i,
                             CLI_MOPT_SHAPE | CLI_MOPT_PASSES | CLI_MOPT_DUMP | CLI_MOPT_ELIDE | CLI_MOPT_REMARKS, &mo);
    if (r < 0) return 2;
    if (r > 0) continue;
    if (cli_flag_once(argc, argv, &i, "-o", &out)) continue;
    /* The target the passes decide for, as kiln compile takes it. */
    static const char *const target_flags[] = {"--target", "--cpu", "--features"};
    const char **target_vals[] = {&triple, &cpu, &features};
    bool matched = false;
    for (int k = 0; k < 3 && !matched; k++)
      if (cli_flag_once(argc, argv, &i, target_flags[k], target_vals[k])) {
        matched = true;
        if (!target_flag) target_flag = target_flags[k];
      }
    if (matched) continue;
    if (!strcmp(argv[i], "--print-target")) {
      print_target = true;
      continue;
    }
    if (!strcmp(argv[i], "--list-passes")) {
      const char *name, *summary;
      for (int k = 0; kiln_pass_info(k, &name, &summary) == KILN_OK; k++) printf("%-10s %s\n", name, summary);
      return 0;
    }
    if (!cli_positional("opt", "input file", argv[i], &in)) return 2;
  }
  bool passes_run = mo.passes || mo.disable || mo.dump || mo.remarks;
  if (print_target) {
    /* The description alone: no model is read, so golden tests can pin
     * what a --target/--cpu gives the passes. */
    if (in || out || mo.first) {
      cli_error("opt: --print-target prints the target description and takes no %s",
                in ? "input file" : out ? "-o" : mo.first);
      return 2;
    }
    kiln_context *ctx = cli_context(false);
    char *line = NULL;
    int rc = 1;
    if (kiln_context_set_target(ctx, triple, cpu, features) == KILN_OK &&
        kiln_context_describe_target(ctx, &line) == KILN_OK) {
      printf("%s\n", line);
      rc = 0;
    } else {
      cli_fail(ctx, "cannot describe the target");
    }
    kiln_free(line);
    kiln_context_destroy(ctx);
    return rc;
  }
  if (!cli_need_positional("opt", "input file", in)) return 2;
  if (target_flag && !passes_run) {
    cli_error("opt: %s applies when passes run (--passes, --disable-pass, --dump-after, --remarks) or with "
              "--print-target", target_flag);
    return 2;
  }
  if (out && !cli_check_output_path("opt", "output", out)) return 1;
  kiln_context *ctx = cli_model_context(&mo);
  kiln_model *m = NULL;
  char *text = NULL;
  int rc = 1;
  if (kiln_context_set_target(ctx, triple, cpu, features) != KILN_OK) goto done;
  if (cli_load_model(ctx, in, &mo, 0, NULL, &m) != KILN_OK) goto done;
  if (passes_run && kiln_model_optimize(m, mo.passes, mo.disable) != KILN_OK) goto done;
  if (kiln_model_print(m, mo.print_flags, &text) != KILN_OK) goto done;
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
  const char *model_path = NULL, *outdir = NULL, *limit_s = NULL;
  char **specs = calloc((size_t)argc + 1, sizeof *specs);
  int nspecs = 0;
  long long limit = 16;
  cli_model_opts mo = {0};
  if (!specs) return 1;
  for (int i = 1; i < argc; i++) {
    const char *v;
    int r = cli_model_option(argc, argv, &i, CLI_MOPT_SHAPE, &mo);
    if (r < 0) goto usage;
    if (r > 0) continue;
    if (cli_flag_value(argc, argv, &i, "--input", &v)) specs[nspecs++] = (char *)v;
    else if (cli_flag_once(argc, argv, &i, "--output-dir", &outdir)) continue;
    else if (cli_flag_once(argc, argv, &i, "--print-limit", &limit_s)) {
      if (!cli_parse_int("--print-limit", limit_s, 0, 1000000000, &limit)) goto usage;
    } else if (!cli_positional("eval", "model", argv[i], &model_path)) goto usage;
  }
  if (!cli_need_positional("eval", "model", model_path)) goto usage;
  int rc = 1;
  kiln_context *ctx = cli_model_context(&mo);
  kiln_model *m = NULL;
  kiln_tensor_info *ins = NULL, *outs = NULL;
  int64_t **odims = NULL;
  cli_inputs in = {0};
  cli_outputs out = {0};
  if (cli_load_model(ctx, model_path, &mo, nspecs, specs, &m) != KILN_OK) {
    cli_fail(ctx, "cannot load the model");
    goto cleanup;
  }
  ins = cli_model_inputs(m);
  outs = cli_model_outputs(m);
  if (!ins || !outs) goto cleanup;
  if (!cli_load_inputs(kiln_model_num_inputs(m), ins, nspecs, specs, &in)) {
    if (in.usage_error) rc = 2;
    goto cleanup;
  }
  if (!cli_alloc_outputs(kiln_model_num_outputs(m), outs, &out)) goto cleanup;
  int no = kiln_model_num_outputs(m);
  odims = calloc((size_t)no + 1, sizeof *odims);
  if (!odims) {
    cli_error("eval: out of memory");
    goto cleanup;
  }
  /* The arrays' own dims: sizes that values decide (NonZero, ...) are
   * written there, and each output is dense at them. */
  for (int i = 0; i < no; i++) odims[i] = out.arrays[i].dims;
  if (kiln_model_evaluate_shaped(m, in.ptrs, out.ptrs, odims) != KILN_OK) {
    cli_fail(ctx, "evaluation failed");
    goto cleanup;
  }
  cli_outputs_at_dims(outs, &out);
  if (outdir && !cli_write_outputs(outs, &out, outdir)) goto cleanup;
  cli_print_outputs(outs, &out, (int)limit);
  rc = 0;
cleanup:
  cli_free_inputs(&in);
  cli_free_outputs(&out);
  free(odims);
  free(ins);
  free(outs);
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
  free(specs);
  return rc;
usage:
  free(specs);
  return 2;
}

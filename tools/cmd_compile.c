/* `kiln compile` (model → shared object + header, or one stage of it),
 * `kiln run` (load an artifact, or JIT a model, run it on .npy inputs,
 * time it) and `kiln info` (what an artifact holds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/artifact.h"
#include "tools/cli.h"

/* "out/model.so" → "out/model.h"; anything else gets ".h" appended. */
static char *header_for(const char *so) {
  size_t n = strlen(so);
  char *h = malloc(n + 3);
  if (!h) return NULL;
  memcpy(h, so, n + 1);
  if (n > 3 && strcmp(so + n - 3, ".so") == 0) strcpy(h + n - 3, ".h");
  else strcat(h, ".h");
  return h;
}

int cmd_compile(int argc, char **argv) {
  const char *model = NULL, *out = NULL, *header = NULL, *name = NULL, *emit = NULL, *triple = NULL, *cpu = NULL;
  const char *features = NULL, *linker = NULL, *perturb = NULL;
  int opt = 3;
  bool timing = false, no_header = false, opt_set = false, buffer_plan = false, instrument = false;
  char derived[80], *default_out = NULL, *hpath = NULL;
  cli_model_opts mo = {0};
  kiln_context *ctx = NULL;
  int rc = 2;
  for (int i = 1; i < argc; i++) {
    const char *v;
    int r = cli_model_option(argc, argv, &i,
                             CLI_MOPT_SHAPE | CLI_MOPT_PASSES | CLI_MOPT_DUMP | CLI_MOPT_ELIDE | CLI_MOPT_REMARKS, &mo);
    if (r < 0) goto done;
    if (r > 0) continue;
    if (cli_flag_once(argc, argv, &i, "-o", &out)) continue;
    if (cli_flag_once(argc, argv, &i, "--header", &header)) continue;
    if (cli_flag_once(argc, argv, &i, "--name", &name)) continue;
    if (cli_flag_once(argc, argv, &i, "--emit", &emit)) continue;
    if (cli_flag_once(argc, argv, &i, "--debug-perturb", &perturb)) continue;
    if (!strcmp(argv[i], "--no-header")) no_header = true;
    else if (!strcmp(argv[i], "--instrument")) instrument = true;
    else if (!strcmp(argv[i], "--buffer-plan")) buffer_plan = true;
    else if (cli_flag_value(argc, argv, &i, "--target", &v)) triple = v;
    else if (cli_flag_value(argc, argv, &i, "--cpu", &v)) cpu = v;
    else if (cli_flag_value(argc, argv, &i, "--features", &v)) features = v;
    else if (cli_flag_value(argc, argv, &i, "--linker", &v)) linker = v;
    else if (!strcmp(argv[i], "--time")) timing = true;
    else if (argv[i][0] == '-' && argv[i][1] == 'O' && argv[i][2] >= '0' && argv[i][2] <= '3' && !argv[i][3]) {
      if (opt_set && opt != argv[i][2] - '0') {
        cli_error("compile: -O%d and %s conflict", opt, argv[i]);
        goto done;
      }
      opt = argv[i][2] - '0';
      opt_set = true;
    } else if (!cli_positional("compile", "model", argv[i], &model)) goto done;
  }
  if (!cli_need_positional("compile", "model", model)) goto done;
  kiln_emit_kind kind = KILN_EMIT_OBJECT;
  if (emit) {
    static const struct { const char *n; kiln_emit_kind k; } kinds[] = {
        {"ir", KILN_EMIT_IR}, {"llvm", KILN_EMIT_LLVM}, {"asm", KILN_EMIT_ASM}, {"obj", KILN_EMIT_OBJECT},
        {"header", KILN_EMIT_HEADER}};
    bool found = false;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
      if (!strcmp(emit, kinds[k].n)) {
        kind = kinds[k].k;
        found = true;
      }
    if (!found) {
      cli_error("compile: --emit takes ir, llvm, asm, obj or header (got '%s')", emit);
      goto done;
    }
    if (kind == KILN_EMIT_OBJECT && !out) {
      cli_error("compile: --emit=obj needs -o FILE");
      goto done;
    }
  }
  /* Options that do not apply are refused rather than ignored. */
  if (header && no_header) {
    cli_error("compile: --header and --no-header conflict");
    goto done;
  }
  if (buffer_plan && (emit || out || header || no_header || linker)) {
    cli_error("compile: --buffer-plan prints the plan instead of compiling: no -o, --emit, --header or --linker");
    goto done;
  }
  if (emit && (header || no_header || linker)) {
    cli_error("compile: %s applies to the shared object; --emit=%s writes one stage instead",
              header ? "--header" : no_header ? "--no-header" : "--linker", emit);
    goto done;
  }
  if (mo.print_flags && kind != KILN_EMIT_IR && kind != KILN_EMIT_LLVM && kind != KILN_EMIT_ASM) {
    cli_error("compile: --elide-constants applies to --emit=ir, llvm or asm (the text forms)");
    goto done;
  }
  /* The default output keeps the model's base name (my-model.v2.onnx ->
   * my-model.v2.so); the C name is derived from the output's name. */
  if (!emit && !out && !buffer_plan) {
    char *stem = cli_stem(model);
    size_t n = stem ? strlen(stem) + 4 : 0;
    default_out = stem ? malloc(n) : NULL;
    if (default_out) snprintf(default_out, n, "%s.so", stem);
    free(stem);
    if (!default_out) goto done;
    out = default_out;
  }
  if (!name && out) {
    cli_symbol_name(out, derived, sizeof derived);
    name = derived;
  }
  rc = 1;
  if (!emit && !no_header && !buffer_plan) {
    hpath = header ? strdup(header) : header_for(out);
    if (!hpath) goto done;
  }
  /* Checked now, not after a compile that may take minutes. */
  if ((out && !cli_check_output_path("compile", emit ? "output" : "shared object", out)) ||
      (hpath && !cli_check_output_path("compile", "header", hpath)))
    goto done;
  ctx = cli_model_context(&mo);
  double t0 = cli_now_ms();
  kiln_model *m = NULL;
  if (kiln_context_set_target(ctx, triple, cpu, features) != KILN_OK || kiln_context_set_opt_level(ctx, opt) != KILN_OK ||
      kiln_context_set_linker(ctx, linker) != KILN_OK ||
      kiln_context_set_instrument(ctx, instrument ? KILN_INSTRUMENT_KERNELS : 0) != KILN_OK ||
      kiln_context_set_debug_perturb(ctx, perturb) != KILN_OK) {
    cli_fail(ctx, "bad options");
    goto cleanup;
  }
  if (cli_load_model(ctx, model, &mo, 0, NULL, &m) != KILN_OK) {
    cli_fail(ctx, "cannot load the model");
    goto cleanup;
  }
  double t1 = cli_now_ms();
  if (kiln_model_optimize(m, mo.passes, mo.disable) != KILN_OK) {
    cli_fail(ctx, "the pass pipeline failed");
    goto cleanup;
  }
  double t2 = cli_now_ms();
  if (buffer_plan) {
    /* The plan as the IR prints it (after the entry computation). */
    char *text = NULL;
    if (kiln_model_print(m, 0, &text) != KILN_OK) {
      cli_fail(ctx, "cannot print the plan");
      goto cleanup;
    }
    const char *plan = strstr(text, "\nplan workspace=");
    if (!plan) {
      cli_error("compile: --buffer-plan: the passes run did not include `buffers` (code generation plans the buffers "
                "itself then)");
      kiln_free(text);
      goto cleanup;
    }
    fputs(plan + 1, stdout);
    kiln_free(text);
  } else if (emit) {
    char *data = NULL;
    size_t len = 0;
    /* The IR through the printer that kiln opt uses, with its flags. */
    kiln_status s = kind == KILN_EMIT_IR ? kiln_model_print(m, mo.print_flags, &data) : kiln_model_emit(m, name, kind, &data, &len);
    if (s != KILN_OK) {
      cli_fail(ctx, "compilation failed");
      goto cleanup;
    }
    if (kind == KILN_EMIT_IR) len = strlen(data);
    if (mo.print_flags && kind != KILN_EMIT_IR) {
      size_t el;
      char *elided = cli_elide_constants(data, len, kind == KILN_EMIT_ASM, &el);
      kiln_free(data);
      if (!elided) {
        cli_error("out of memory");
        goto cleanup;
      }
      bool ok = cli_write_file(out, elided, el);
      free(elided);
      if (!ok) goto cleanup;
    } else {
      bool ok = cli_write_file(out, data, len);
      kiln_free(data);
      if (!ok) goto cleanup;
    }
  } else {
    if (kiln_model_compile(m, name, out, hpath) != KILN_OK) {
      cli_fail(ctx, "compilation failed");
      goto cleanup;
    }
  }
  double t3 = cli_now_ms();
  if (timing)
    fprintf(stderr, "kiln: load %.1f ms, passes %.1f ms, code generation %.1f ms, total %.1f ms\n", t1 - t0, t2 - t1,
            t3 - t2, t3 - t0);
  rc = 0;
cleanup:
  kiln_model_destroy(m);
done:
  free(hpath);
  free(default_out);
  kiln_context_destroy(ctx);
  return rc;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int cmd_run(int argc, char **argv) {
  const char *path = NULL, *outdir = NULL, *threads_s = NULL, *repeat_s = NULL, *limit_s = NULL, *perturb = NULL;
  char **specs = calloc((size_t)argc + 1, sizeof *specs);
  int nspecs = 0;
  long long limit = 16, threads = 0, repeat = 0, opt = 3;
  bool timing = false, perf_map = false, instrument = false, verbose = false;
  /* The first option given that only the JIT uses (refused for a .so). */
  const char *jit_only = NULL, *opt_flag = NULL;
  cli_model_opts mo = {0};
  kiln_context *ctx = NULL;
  int rc = 2;
  if (!specs) goto done;
  for (int i = 1; i < argc; i++) {
    const char *v;
    int r = cli_model_option(argc, argv, &i, CLI_MOPT_SHAPE | CLI_MOPT_PASSES, &mo);
    if (r < 0) goto done;
    if (r > 0) {
      if (!jit_only) jit_only = mo.first;
      continue;
    }
    if (cli_flag_value(argc, argv, &i, "--input", &v)) specs[nspecs++] = (char *)v;
    else if (cli_flag_once(argc, argv, &i, "--output-dir", &outdir)) continue;
    else if (cli_flag_once(argc, argv, &i, "--threads", &threads_s)) {
      if (!cli_parse_int("--threads", threads_s, 1, 4096, &threads)) goto done;
    } else if (cli_flag_once(argc, argv, &i, "--repeat", &repeat_s)) {
      if (!cli_parse_int("--repeat", repeat_s, 1, 100000000, &repeat)) goto done;
    } else if (cli_flag_once(argc, argv, &i, "--print-limit", &limit_s)) {
      if (!cli_parse_int("--print-limit", limit_s, 0, 1000000000, &limit)) goto done;
    } else if (!strcmp(argv[i], "--time")) {
      timing = true;
      if (!jit_only) jit_only = argv[i];
    } else if (!strcmp(argv[i], "--perf-map")) {
      perf_map = true;
      if (!jit_only) jit_only = argv[i];
    } else if (!strcmp(argv[i], "--instrument")) {
      instrument = true;
      if (!jit_only) jit_only = argv[i];
    } else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
      verbose = true;
    } else if (cli_flag_once(argc, argv, &i, "--debug-perturb", &perturb)) {
      if (!jit_only) jit_only = "--debug-perturb";
    } else if (argv[i][0] == '-' && argv[i][1] == 'O' && argv[i][2] >= '0' && argv[i][2] <= '3' && !argv[i][3]) {
      if (opt_flag && strcmp(opt_flag, argv[i])) {
        cli_error("run: %s and %s conflict", opt_flag, argv[i]);
        goto done;
      }
      opt = argv[i][2] - '0';
      opt_flag = argv[i];
      if (!jit_only) jit_only = argv[i];
    } else if (!cli_positional("run", "artifact or model", argv[i], &path)) goto done;
  }
  if (!cli_need_positional("run", "artifact or model", path)) goto done;
  bool artifact = cli_is_artifact(path);
  if (artifact && jit_only) {
    cli_error("run: %s applies only when kiln run compiles a model (JIT); %s is a compiled artifact, whose code, "
              "shapes and options kiln compile fixed", jit_only, path);
    goto done;
  }
  ctx = cli_model_context(&mo);
  rc = 1;
  kiln_executable *a = NULL;
  kiln_tensor_info *ins = NULL, *outs = NULL, *shapes = NULL;
  cli_inputs in = {0};
  cli_outputs out = {0};
  void *ws = NULL;
  double *times = NULL;
  char **texts = NULL;
  int64_t **odims = NULL;
  int ni = 0;
  if (artifact) {
    if (kiln_executable_open(ctx, path, &a) != KILN_OK) {
      cli_fail(ctx, "cannot load the artifact");
      goto cleanup;
    }
  } else if (kiln_context_set_opt_level(ctx, (int)opt) != KILN_OK ||
             (perf_map && kiln_context_set_perf_map(ctx, 1) != KILN_OK) ||
             kiln_context_set_instrument(ctx, instrument ? KILN_INSTRUMENT_KERNELS : 0) != KILN_OK ||
             kiln_context_set_debug_perturb(ctx, perturb) != KILN_OK ||
             cli_jit_model_shaped(ctx, path, &mo, nspecs, specs, timing, verbose, &a) != KILN_OK) {
    cli_fail(ctx, "JIT compilation failed");
    goto cleanup;
  }
  ni = kiln_executable_num_inputs(a);
  int no = kiln_executable_num_outputs(a);
  /* Symbolic dimensions: the inputs may have any shape within the bounds;
   * the outputs are allocated at the bounds and cut to the dimensions the
   * run reports. */
  bool shaped = kiln_executable_num_symbols(a) > 0;
  ins = calloc((size_t)ni + 1, sizeof *ins);
  outs = calloc((size_t)no + 1, sizeof *outs);
  if (!ins || !outs) goto out_of_memory;
  for (int i = 0; i < ni; i++) kiln_executable_input(a, i, &ins[i]);
  for (int i = 0; i < no; i++) kiln_executable_output(a, i, &outs[i]);
  if (shaped) {
    texts = calloc((size_t)ni + 1, sizeof *texts);
    if (!texts) goto out_of_memory;
    for (int i = 0; i < ni; i++)
      if (!(texts[i] = cli_shape_with_ranges(a, kiln_executable_input_shape(a, i)))) goto out_of_memory;
  }
  if (!(shaped ? cli_load_inputs_shaped(ni, ins, (const char *const *)texts, nspecs, specs, &in)
               : cli_load_inputs(ni, ins, nspecs, specs, &in))) {
    if (in.usage_error) rc = 2;
    goto cleanup;
  }
  if (!cli_alloc_outputs(no, outs, &out)) goto cleanup;
  if (shaped) {
    shapes = calloc((size_t)ni + 1, sizeof *shapes);
    odims = calloc((size_t)no + 1, sizeof *odims);
    if (!shapes || !odims) goto out_of_memory;
    for (int i = 0; i < ni; i++) {
      shapes[i] = ins[i];
      shapes[i].rank = in.arrays[i].rank;
      shapes[i].dims = in.arrays[i].dims;
    }
    /* The arrays' own dims: the run writes each output's actual dimensions there. */
    for (int i = 0; i < no; i++) odims[i] = out.arrays[i].dims;
  }
  if (threads_s) kiln_executable_set_num_threads(a, (int)threads);
  size_t wsz = kiln_executable_workspace_size(a);
  if (wsz) {
    ws = aligned_alloc(64, (wsz + 63) / 64 * 64);
    if (!ws) {
      cli_error("cannot allocate the workspace (%zu bytes)", wsz);
      goto cleanup;
    }
  }
  kiln_status s = shaped ? kiln_executable_run_shaped(a, in.ptrs, shapes, out.ptrs, odims, ws, ctx)
                         : kiln_executable_run(a, in.ptrs, out.ptrs, ws);
  if (s != KILN_OK) {
    if (shaped) cli_fail(ctx, "the run failed");
    else if (s == KILN_ERR_SHAPE)
      cli_error("%s: the run was refused: a check of the input values failed (an RNN's sequence_lens shorter than the "
                "sequence, ...)", path);
    else cli_error("%s: the run failed: %s", path, kiln_status_name(s));
    goto cleanup;
  }
  if (shaped) cli_outputs_at_dims(outs, &out);
  if (repeat) {
    times = malloc(sizeof(double) * (size_t)repeat);
    if (!times) goto out_of_memory;
    for (long long r = 0; r < repeat; r++) {
      double t = cli_now_ms();
      if (shaped) kiln_executable_run_shaped(a, in.ptrs, shapes, out.ptrs, odims, ws, NULL);
      else kiln_executable_run(a, in.ptrs, out.ptrs, ws);
      times[r] = cli_now_ms() - t;
    }
    qsort(times, (size_t)repeat, sizeof *times, cmp_double);
    /* Microseconds when the median is below a millisecond. */
    bool us = times[repeat / 2] < 1.0;
    double k = us ? 1e3 : 1;
    const char *unit = us ? "us" : "ms";
    fprintf(stderr, "kiln: %lld runs, %d thread%s: min %.3f %s, median %.3f %s, max %.3f %s\n", repeat,
            kiln_executable_num_threads(a), kiln_executable_num_threads(a) == 1 ? "" : "s", times[0] * k, unit,
            times[repeat / 2] * k, unit, times[repeat - 1] * k, unit);
  }
  if (outdir && !cli_write_outputs(outs, &out, outdir)) goto cleanup;
  cli_print_outputs(outs, &out, (int)limit);
  rc = 0;
  goto cleanup;
out_of_memory:
  cli_error("run: out of memory");
cleanup:
  for (int i = 0; texts && i < ni; i++) free(texts[i]);
  free(texts);
  free(shapes);
  free(odims);
  free(times);
  free(ws);
  cli_free_inputs(&in);
  cli_free_outputs(&out);
  free(ins);
  free(outs);
  kiln_executable_destroy(a);
done:
  free(specs);
  kiln_context_destroy(ctx);
  return rc;
}

/* One input or output of `kiln info`: name, shape with the symbols' ranges, bytes at the bounds. */
static bool info_tensor(const kiln_executable *a, const kiln_tensor_info *t, const char *shape) {
  char *text = cli_shape_with_ranges(a, shape);
  if (!text) return false;
  size_t bytes = kiln_dtype_size(t->dtype);
  for (int d = 0; d < t->rank; d++) bytes *= (size_t)t->dims[d];
  printf("  %s: %s, %s%zu bytes\n", t->name, text, kiln_executable_num_symbols(a) ? "at most " : "", bytes);
  free(text);
  return true;
}

int cmd_info(int argc, char **argv) {
  const char *path = NULL;
  for (int i = 1; i < argc; i++)
    if (!cli_positional("info", "artifact", argv[i], &path)) return 2;
  if (!cli_need_positional("info", "artifact", path)) return 2;
  if (!cli_is_artifact(path)) {
    cli_error("info: %s is not a compiled artifact (an ELF shared object made by kiln compile)", path);
    return 1;
  }
  kiln_context *ctx = cli_context(false);
  kiln_executable *a = NULL;
  int rc = 1;
  if (kiln_executable_open(ctx, path, &a) != KILN_OK) {
    cli_fail(ctx, "cannot load the artifact");
    goto done;
  }
  const kiln_artifact_desc *d = kiln_executable_description(a);
  printf("artifact %s: kiln_%s_run, made by %s for %s, CPU %s", path, d->name, d->producer ? d->producer : "?",
         d->target_triple ? d->target_triple : "?", d->target_cpu ? d->target_cpu : "?");
  bool has_cpu = d->size >= offsetof(kiln_artifact_desc, selected_cpu) + sizeof d->selected_cpu;
  const char *sel = has_cpu && d->selected_cpu ? d->selected_cpu() : NULL;
  if (sel && strcmp(sel, d->target_cpu ? d->target_cpu : "")) printf(" (running %s here)", sel);
  printf("\n");
  int ns = kiln_executable_num_symbols(a);
  if (ns) {
    printf("symbols (%d):", ns);
    for (int k = 0; k < ns; k++) {
      const char *name;
      int64_t bound;
      kiln_executable_symbol(a, k, &name, &bound);
      bool computed = kiln_executable_symbol_is_computed(a, k);
      printf("%s %s in [%d, %lld]%s", k ? "," : "", name, computed ? 0 : 1, (long long)bound,
             computed ? " (computed by the run from values)" : "");
    }
    printf("; kiln_%s_run_shaped runs at any binding within the bounds\n", d->name);
  }
  int ni = kiln_executable_num_inputs(a), no = kiln_executable_num_outputs(a);
  printf("inputs (%d):\n", ni);
  for (int i = 0; i < ni; i++) {
    kiln_tensor_info t;
    kiln_executable_input(a, i, &t);
    if (!info_tensor(a, &t, kiln_executable_input_shape(a, i))) goto done;
  }
  printf("outputs (%d):\n", no);
  for (int i = 0; i < no; i++) {
    kiln_tensor_info t;
    kiln_executable_output(a, i, &t);
    if (!info_tensor(a, &t, kiln_executable_output_shape(a, i))) goto done;
  }
  printf("workspace: %zu bytes\n", kiln_executable_workspace_size(a));
  int nk = kiln_executable_num_kernels(a);
  if (nk) printf("kernels: %d (instrumented: kiln profile reads them)\n", nk);
  rc = 0;
done:
  kiln_executable_destroy(a);
  kiln_context_destroy(ctx);
  return rc;
}

/* `kiln compile` (model → shared object + header, or one stage of it) and
 * `kiln run` (load an artifact, or JIT a model, run it on .npy inputs,
 * time it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/cli.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The file name of path without folder and extension, as a C identifier. */
static void stem_name(const char *path, char *buf, size_t n) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  size_t k = 0;
  if (*b >= '0' && *b <= '9') buf[k++] = '_';
  for (; *b && *b != '.' && k + 1 < n; b++) {
    char c = *b;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    buf[k++] = ok ? c : '_';
  }
  buf[k] = 0;
}

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
  const char *features = NULL, *linker = NULL, *passes = NULL, *disable = NULL;
  int opt = 3;
  bool timing = false, no_header = false, remarks = false;
  for (int i = 1; i < argc; i++) remarks = remarks || !strcmp(argv[i], "--remarks");
  kiln_context *ctx = cli_context(remarks);
  kiln_context_set_remarks(ctx, remarks);
  int rc = 2;
  for (int i = 1; i < argc; i++) {
    const char *v;
    if (cli_flag_value(argc, argv, &i, "-o", &v)) out = v;
    else if (cli_flag_value(argc, argv, &i, "--header", &v)) header = v;
    else if (!strcmp(argv[i], "--no-header")) no_header = true;
    else if (cli_flag_value(argc, argv, &i, "--name", &v)) name = v;
    else if (cli_flag_value(argc, argv, &i, "--emit", &v)) emit = v;
    else if (cli_flag_value(argc, argv, &i, "--target", &v)) triple = v;
    else if (cli_flag_value(argc, argv, &i, "--cpu", &v)) cpu = v;
    else if (cli_flag_value(argc, argv, &i, "--features", &v)) features = v;
    else if (cli_flag_value(argc, argv, &i, "--linker", &v)) linker = v;
    else if (cli_flag_value(argc, argv, &i, "--passes", &v)) passes = v;
    else if (cli_flag_value(argc, argv, &i, "--disable-pass", &v)) disable = v;
    else if (cli_flag_value(argc, argv, &i, "--input-shape", &v)) {
      if (!cli_bind_shape(ctx, v)) goto done;
    } else if (!strcmp(argv[i], "--time")) timing = true;
    else if (!strcmp(argv[i], "--remarks")) continue; /* read above */
    else if (argv[i][0] == '-' && argv[i][1] == 'O' && argv[i][2] >= '0' && argv[i][2] <= '3' && !argv[i][3])
      opt = argv[i][2] - '0';
    else if (!cli_positional("compile", "model", argv[i], &model)) goto done;
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
  char derived[80], *default_out = NULL;
  if (!name && out) {
    stem_name(out, derived, sizeof derived);
    name = derived;
  }
  if (!emit && !out) {
    stem_name(model, derived, sizeof derived);
    size_t n = strlen(derived) + 4;
    default_out = malloc(n);
    if (!default_out) goto done;
    snprintf(default_out, n, "%s.so", derived);
    out = default_out;
    if (!name) name = derived;
  }
  rc = 1;
  double t0 = now_ms();
  kiln_model *m = NULL;
  char *hpath = NULL;
  if (kiln_context_set_target(ctx, triple, cpu, features) != KILN_OK || kiln_context_set_opt_level(ctx, opt) != KILN_OK ||
      kiln_context_set_linker(ctx, linker) != KILN_OK) {
    cli_fail(ctx, "bad options");
    goto cleanup;
  }
  if (kiln_model_load_file(ctx, model, &m) != KILN_OK) {
    cli_fail(ctx, "cannot load the model");
    goto cleanup;
  }
  double t1 = now_ms();
  if (kiln_model_optimize(m, passes, disable) != KILN_OK) {
    cli_fail(ctx, "the pass pipeline failed");
    goto cleanup;
  }
  double t2 = now_ms();
  if (emit) {
    char *data = NULL;
    size_t len = 0;
    if (kiln_model_emit(m, name, kind, &data, &len) != KILN_OK) {
      cli_fail(ctx, "compilation failed");
      goto cleanup;
    }
    bool ok = cli_write_file(out, data, len);
    kiln_free(data);
    if (!ok) goto cleanup;
  } else {
    if (!no_header) {
      hpath = header ? strdup(header) : header_for(out);
      if (!hpath) goto cleanup;
    }
    if (kiln_model_compile(m, name, out, hpath) != KILN_OK) {
      cli_fail(ctx, "compilation failed");
      goto cleanup;
    }
  }
  double t3 = now_ms();
  if (timing)
    fprintf(stderr, "kiln: load %.1f ms, passes %.1f ms, code generation %.1f ms, total %.1f ms\n", t1 - t0, t2 - t1,
            t3 - t2, t3 - t0);
  rc = 0;
cleanup:
  free(hpath);
  kiln_model_destroy(m);
  free(default_out);
done:
  kiln_context_destroy(ctx);
  return rc;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Whether path is an ELF file (a compiled artifact) rather than a model. */
static bool is_elf(const char *path) {
  FILE *f = fopen(path, "rb");
  unsigned char magic[4] = {0};
  if (!f) return false;
  size_t n = fread(magic, 1, 4, f);
  fclose(f);
  return n == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
}

/* Loads a model, runs the passes and JITs it. */
static kiln_status jit_model(kiln_context *ctx, const char *path, const char *passes, const char *disable, bool timing,
                             kiln_executable **out) {
  double t0 = now_ms();
  kiln_model *m = NULL;
  kiln_status s = kiln_model_load_file(ctx, path, &m);
  double t1 = now_ms();
  if (s == KILN_OK) s = kiln_model_optimize(m, passes, disable);
  double t2 = now_ms();
  if (s == KILN_OK) s = kiln_model_jit(m, out);
  double t3 = now_ms();
  if (s == KILN_OK && timing)
    fprintf(stderr, "kiln: load %.1f ms, passes %.1f ms, JIT compilation %.1f ms, total %.1f ms\n", t1 - t0, t2 - t1,
            t3 - t2, t3 - t0);
  kiln_model_destroy(m);
  return s;
}

int cmd_run(int argc, char **argv) {
  const char *path = NULL, *outdir = NULL, *passes = NULL, *disable = NULL;
  char **specs = calloc((size_t)argc + 1, sizeof *specs);
  int nspecs = 0, limit = 16, threads = 0, repeat = 0, opt = 3;
  bool threads_set = false, timing = false;
  kiln_context *ctx = cli_context(false);
  int rc = 2;
  if (!specs) goto done;
  for (int i = 1; i < argc; i++) {
    const char *v;
    if (cli_flag_value(argc, argv, &i, "--input", &v)) specs[nspecs++] = (char *)v;
    else if (cli_flag_value(argc, argv, &i, "--output-dir", &v)) outdir = v;
    else if (cli_flag_value(argc, argv, &i, "--threads", &v)) {
      threads = atoi(v);
      threads_set = true;
    } else if (cli_flag_value(argc, argv, &i, "--repeat", &v)) {
      repeat = atoi(v);
      if (repeat < 1) {
        cli_error("run: --repeat needs a count >= 1");
        goto done;
      }
    } else if (cli_flag_value(argc, argv, &i, "--print-limit", &v)) limit = atoi(v);
    else if (cli_flag_value(argc, argv, &i, "--input-shape", &v)) {
      if (!cli_bind_shape(ctx, v)) goto done;
    } else if (cli_flag_value(argc, argv, &i, "--passes", &v)) passes = v;
    else if (cli_flag_value(argc, argv, &i, "--disable-pass", &v)) disable = v;
    else if (!strcmp(argv[i], "--time")) timing = true;
    else if (argv[i][0] == '-' && argv[i][1] == 'O' && argv[i][2] >= '0' && argv[i][2] <= '3' && !argv[i][3])
      opt = argv[i][2] - '0';
    else if (!cli_positional("run", "artifact or model", argv[i], &path)) goto done;
  }
  if (!cli_need_positional("run", "artifact or model", path)) goto done;
  rc = 1;
  kiln_executable *a = NULL;
  kiln_tensor_info *ins = NULL, *outs = NULL;
  cli_inputs in = {0};
  cli_outputs out = {0};
  void *ws = NULL;
  double *times = NULL;
  if (is_elf(path)) {
    if (kiln_executable_open(ctx, path, &a) != KILN_OK) {
      cli_fail(ctx, "cannot load the artifact");
      goto cleanup;
    }
  } else if (kiln_context_set_opt_level(ctx, opt) != KILN_OK ||
             jit_model(ctx, path, passes, disable, timing, &a) != KILN_OK) {
    cli_fail(ctx, "JIT compilation failed");
    goto cleanup;
  }
  int ni = kiln_executable_num_inputs(a), no = kiln_executable_num_outputs(a);
  ins = calloc((size_t)ni + 1, sizeof *ins);
  outs = calloc((size_t)no + 1, sizeof *outs);
  if (!ins || !outs) goto cleanup;
  for (int i = 0; i < ni; i++) kiln_executable_input(a, i, &ins[i]);
  for (int i = 0; i < no; i++) kiln_executable_output(a, i, &outs[i]);
  if (!cli_load_inputs(ni, ins, nspecs, specs, &in)) goto cleanup;
  if (!cli_alloc_outputs(no, outs, &out)) goto cleanup;
  if (threads_set) kiln_executable_set_num_threads(a, threads);
  size_t wsz = kiln_executable_workspace_size(a);
  if (wsz) {
    ws = aligned_alloc(64, (wsz + 63) / 64 * 64);
    if (!ws) {
      cli_error("cannot allocate the workspace (%zu bytes)", wsz);
      goto cleanup;
    }
  }
  kiln_status s = kiln_executable_run(a, in.ptrs, out.ptrs, ws);
  if (s != KILN_OK) {
    cli_error("%s: the run failed: %s", path, kiln_status_name(s));
    goto cleanup;
  }
  if (repeat) {
    times = malloc(sizeof(double) * (size_t)repeat);
    if (!times) goto cleanup;
    for (int r = 0; r < repeat; r++) {
      double t = now_ms();
      kiln_executable_run(a, in.ptrs, out.ptrs, ws);
      times[r] = now_ms() - t;
    }
    qsort(times, (size_t)repeat, sizeof *times, cmp_double);
    /* Microseconds when the median is below a millisecond. */
    bool us = times[repeat / 2] < 1.0;
    double k = us ? 1e3 : 1;
    const char *unit = us ? "us" : "ms";
    fprintf(stderr, "kiln: %d runs, %d thread%s: min %.3f %s, median %.3f %s, max %.3f %s\n", repeat,
            kiln_executable_num_threads(a), kiln_executable_num_threads(a) == 1 ? "" : "s", times[0] * k, unit,
            times[repeat / 2] * k, unit, times[repeat - 1] * k, unit);
  }
  if (outdir && !cli_write_outputs(outs, &out, outdir)) goto cleanup;
  cli_print_outputs(outs, &out, limit);
  rc = 0;
cleanup:
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

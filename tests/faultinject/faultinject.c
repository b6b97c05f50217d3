/*
 * Fault injection: fails kiln's Nth allocation, for every N, and checks
 * that each failure ends in a clean error (docs/testing-faults.md).
 *
 * For each model given, one pipeline through the public API:
 *   context -> load (ONNX import) -> optimise (passes) -> evaluate (the
 *   reference interpreter) -> [JIT, with --jit] -> compile to a .so and
 *   header (code generation, link) -> open the .so (load) -> run it with a
 *   NULL workspace -> [run the JIT'd code too] -> destroy all. (The JIT
 *   comes before the AOT compile because it is the cheaper of the two:
 *   every iteration failing in the later one pays for the earlier.)
 * It runs once with no failure (counting A allocations and giving the
 * reference outputs), then for N = 1, 2, ... with allocation N failing
 * (faultalloc.c), until an iteration completes without reaching N. Each
 * failing iteration must:
 *   - stop with a non-OK status and a last-error message (the context's
 *     creation and an executable's run have no context to hold a message:
 *     they must return KILN_ERR_OUT_OF_MEMORY), or complete with the
 *     reference outputs (the allocation had a fallback);
 *   - leave no file in the work folder when compiling failed (neither the
 *     .so, nor its header, nor a temporary);
 *   - free every block kiln allocated (checked after each iteration by
 *     faultalloc's records; LeakSanitizer checks the rest at exit in the
 *     sanitizer build);
 * and of course not crash: the whole loop runs in this one process.
 *
 * usage: faultinject [--jit] [-v] [-O LEVEL] [--stride K] WORKDIR MODEL.onnx...
 *   --stride K   test N = 1, 1+K, 1+2K, ... only (default 1: every N)
 *   -O LEVEL     LLVM optimisation level (default 0: kiln's own allocations do
 *                not depend on it, and the loop compiles hundreds of times)
 *   -v           a line for each injected failure: N, call address, outcome
 * Prints one summary line per model; exit 0 when every iteration was clean.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kiln/kiln.h"
#include "tests/faultinject/faultalloc.h"

enum { MAX_IO = 8, MAX_REPORT = 16 };

/* The steps of the pipeline, in order, as outcome.step names them. */
static const char *const steps[] = {"context_create", "set_opt_level", "set_num_threads", "load", "optimize",
                                    "evaluate", "jit", "compile", "open", "run", "jit_run"};
enum { NSTEPS = sizeof steps / sizeof steps[0] };

typedef struct options {
  bool jit;
  bool verbose; /* a line for each injected failure */
  int opt_level;
  uint64_t stride;
  const char *workdir;
} options;

/* The buffers of one model, made before the loop so the test itself
 * allocates nothing while allocations are counted. */
typedef struct model_io {
  int nin, nout;
  size_t in_n[MAX_IO], out_n[MAX_IO]; /* elements */
  float *in[MAX_IO];
  float *ref[MAX_IO];  /* outputs of the first, fault-free compiled run */
  float *eval[MAX_IO]; /* the interpreter's outputs */
  float *out[MAX_IO];  /* the compiled code's outputs */
  float *jout[MAX_IO]; /* the JIT's outputs */
} model_io;

/* What happened in one iteration. */
typedef struct outcome {
  uint64_t allocs_before[NSTEPS + 1]; /* fa_count() as each step began (and at the end); UINT64_MAX: not run */
  double time_before[NSTEPS + 1];     /* now() as each step began (and at the end) */
  kiln_status status; /* of the step that failed, or KILN_OK */
  const char *step;   /* the step that failed, or NULL */
  char message[512];  /* the context's last error at that point */
  bool files_left;    /* a file remained in the work folder after a failed compile */
  char file_left[256];
} outcome;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The first entry of dir other than . and .., or false if there is none. */
static bool dir_entry(const char *dir, char *name, size_t n) {
  DIR *d = opendir(dir);
  if (!d) return false;
  struct dirent *e;
  bool found = false;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(name, n, "%s", e->d_name);
    found = true;
    break;
  }
  closedir(d);
  return found;
}

static bool close_enough(const float *a, const float *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!(fabsf(a[i] - b[i]) <= 1e-4f + 1e-3f * fabsf(b[i]))) return false;
  return true;
}

static void *const *as_outputs(float **p) { return (void *const *)p; }
static const void *const *as_inputs(float **p) { return (const void *const *)p; }

/* Marks the start of step k (an index in steps[]). */
static void begin(outcome *o, int k) {
  o->allocs_before[k] = fa_count();
  o->time_before[k] = now();
}

static kiln_status fail_step(outcome *o, const char *step, kiln_status s, kiln_context *ctx) {
  o->status = s;
  o->step = step;
  snprintf(o->message, sizeof o->message, "%s", ctx ? kiln_context_last_error(ctx) : "");
  return s;
}

/* One pipeline; every handle it makes is destroyed before it returns. */
static kiln_status pipeline(const options *opt, const char *path, model_io *io, outcome *o) {
  memset(o, 0, sizeof *o);
  for (int k = 0; k <= NSTEPS; k++) o->allocs_before[k] = UINT64_MAX; /* not begun */
  char so[512], header[512];
  snprintf(so, sizeof so, "%s/fi_model.so", opt->workdir);
  snprintf(header, sizeof header, "%s/fi_model.h", opt->workdir);
  kiln_context *ctx = NULL;
  kiln_model *m = NULL;
  kiln_executable *exe = NULL, *jexe = NULL;
  begin(o, 0);
  kiln_status s = kiln_context_create(&ctx);
  if (s != KILN_OK) return fail_step(o, "context_create", s, NULL);
  begin(o, 1);
  s = kiln_context_set_opt_level(ctx, opt->opt_level);
  if (s != KILN_OK) fail_step(o, "set_opt_level", s, ctx);
  if (s == KILN_OK) {
    begin(o, 2);
    s = kiln_context_set_num_threads(ctx, 2);
    if (s != KILN_OK) fail_step(o, "set_num_threads", s, ctx);
  }
  if (s == KILN_OK) {
    begin(o, 3);
    s = kiln_model_load_file(ctx, path, &m);
    if (s != KILN_OK) fail_step(o, "load", s, ctx);
  }
  if (s == KILN_OK) {
    begin(o, 4);
    s = kiln_model_optimize(m, NULL, NULL);
    if (s != KILN_OK) fail_step(o, "optimize", s, ctx);
  }
  if (s == KILN_OK) {
    begin(o, 5);
    s = kiln_model_evaluate(m, as_inputs(io->in), as_outputs(io->eval));
    if (s != KILN_OK) fail_step(o, "evaluate", s, ctx);
  }
  if (s == KILN_OK && opt->jit) {
    begin(o, 6);
    s = kiln_model_jit(m, &jexe);
    if (s != KILN_OK) fail_step(o, "jit", s, ctx);
  }
  if (s == KILN_OK) {
    begin(o, 7);
    s = kiln_model_compile(m, "fi_model", so, header);
    if (s != KILN_OK) {
      fail_step(o, "compile", s, ctx);
      /* "On failure no file is left at either path", nor a temporary. */
      o->files_left = dir_entry(opt->workdir, o->file_left, sizeof o->file_left);
    }
  }
  kiln_model_destroy(m);
  if (s == KILN_OK) {
    begin(o, 8);
    s = kiln_executable_open(ctx, so, &exe);
    if (s != KILN_OK) fail_step(o, "open", s, ctx);
  }
  if (s == KILN_OK) {
    begin(o, 9);
    s = kiln_executable_run(exe, as_inputs(io->in), as_outputs(io->out), NULL);
    if (s != KILN_OK) fail_step(o, "run", s, NULL);
  }
  if (s == KILN_OK && jexe) {
    begin(o, 10);
    s = kiln_executable_run(jexe, as_inputs(io->in), as_outputs(io->jout), NULL);
    if (s != KILN_OK) fail_step(o, "jit_run", s, NULL);
  }
  begin(o, NSTEPS);
  kiln_executable_destroy(exe);
  kiln_executable_destroy(jexe);
  kiln_context_destroy(ctx);
  unlink(so);
  unlink(header);
  return s;
}

/* Loads the model once, unarmed, to size and fill the buffers. */
static bool setup_io(const char *path, model_io *io) {
  memset(io, 0, sizeof *io);
  kiln_context *ctx = NULL;
  kiln_model *m = NULL;
  if (kiln_context_create(&ctx) != KILN_OK) return false;
  bool ok = kiln_model_load_file(ctx, path, &m) == KILN_OK;
  if (!ok) fprintf(stderr, "%s: %s\n", path, kiln_context_last_error(ctx));
  if (ok) {
    io->nin = kiln_model_num_inputs(m);
    io->nout = kiln_model_num_outputs(m);
    ok = io->nin <= MAX_IO && io->nout <= MAX_IO;
  }
  for (int k = 0; ok && k < io->nin + io->nout; k++) {
    bool in = k < io->nin;
    kiln_tensor_info t;
    kiln_status s = in ? kiln_model_input(m, k, &t) : kiln_model_output(m, k - io->nin, &t);
    if (s != KILN_OK || t.dtype != KILN_F32) {
      fprintf(stderr, "%s: the test feeds f32 tensors only\n", path);
      ok = false;
      break;
    }
    size_t n = 1;
    for (int d = 0; d < t.rank; d++) n *= (size_t)t.dims[d];
    if (in) {
      io->in_n[k] = n;
      io->in[k] = malloc(n * sizeof(float) + 1);
      ok = io->in[k] != NULL;
      /* Exact in float32, the pattern of examples/jit. */
      for (size_t i = 0; ok && i < n; i++) io->in[k][i] = (float)((int)((i + 7u * (size_t)k) % 13u) - 6) / 8.0f;
    } else {
      int j = k - io->nin;
      io->out_n[j] = n;
      float **bufs[] = {&io->ref[j], &io->eval[j], &io->out[j], &io->jout[j]};
      for (size_t b = 0; b < 4; b++) {
        *bufs[b] = calloc(n + 1, sizeof(float));
        ok = ok && *bufs[b];
      }
    }
  }
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
  return ok;
}

static void free_io(model_io *io) {
  for (int k = 0; k < MAX_IO; k++) {
    free(io->in[k]);
    free(io->ref[k]);
    free(io->eval[k]);
    free(io->out[k]);
    free(io->jout[k]);
  }
}

/* Whether the outputs of a completed iteration are right: the compiled
 * code (and the JIT) agree with the reference run, the interpreter with
 * the compiled code within a tolerance. */
static bool outputs_right(const options *opt, const model_io *io, bool first) {
  for (int j = 0; j < io->nout; j++) {
    const float *ref = first ? io->out[j] : io->ref[j];
    if (!close_enough(io->eval[j], ref, io->out_n[j])) return false;
    if (!close_enough(io->out[j], ref, io->out_n[j])) return false;
    if (opt->jit && !close_enough(io->jout[j], ref, io->out_n[j])) return false;
  }
  return true;
}

static void report_live(const char *what, uint64_t n) {
  uintptr_t sites[MAX_REPORT];
  size_t sizes[MAX_REPORT];
  size_t live = fa_live(sites, sizes, MAX_REPORT);
  printf("  N=%llu: %zu block(s) %s, made at (addr2line -f -e PROGRAM ADDR):\n", (unsigned long long)n, live, what);
  for (size_t i = 0; i < live && i < MAX_REPORT; i++)
    printf("    %#llx  %zu bytes\n", (unsigned long long)fa_site_offset(sites[i]), sizes[i]);
  fa_forget();
}

static bool contains(const uintptr_t *a, size_t n, uintptr_t v) {
  for (size_t i = 0; i < n; i++)
    if (a[i] == v) return true;
  return false;
}

/* The whole N loop for one model; prints its summary line. */
static bool run_model(const options *opt, const char *path) {
  model_io io;
  if (!setup_io(path, &io)) {
    free_io(&io);
    printf("FAIL %s: cannot set the test up\n", path);
    return false;
  }
  double t0 = now();
  outcome o;
  fa_forget();
  fa_clear_sites();
  fa_arm(0);
  kiln_status s = pipeline(opt, path, &io, &o);
  fa_disarm();
  uint64_t total = fa_count();
  double t_full = now() - t0;
  bool ok = true;
  if (s != KILN_OK) {
    printf("FAIL %s: the pipeline fails without any injected failure: %s: %s: %s\n", path, o.step,
           kiln_status_name(s), o.message);
    free_io(&io);
    return false;
  }
  if (!outputs_right(opt, &io, true)) {
    printf("FAIL %s: the interpreter and the compiled code disagree\n", path);
    ok = false;
  }
  for (int j = 0; j < io.nout; j++) memcpy(io.ref[j], io.out[j], io.out_n[j] * sizeof(float));
  printf("     allocations by step:");
  for (int k = 0; k < NSTEPS; k++) {
    if (o.allocs_before[k] == UINT64_MAX) continue;
    int next = k + 1;
    while (o.allocs_before[next] == UINT64_MAX) next++; /* the end is always set after a complete run */
    printf(" %s %llu (%.0f ms)", steps[k], (unsigned long long)(o.allocs_before[next] - o.allocs_before[k]),
           (o.time_before[next] - o.time_before[k]) * 1e3);
  }
  printf(" destroy %llu", (unsigned long long)(total - o.allocs_before[NSTEPS]));
  printf("\n");
  if (fa_live(NULL, NULL, 0)) {
    report_live("still allocated after a complete run", 0);
    ok = false;
  }

  uint64_t injected = 0, absorbed = 0, oom_status = 0, bad = 0;
  uint64_t by_step[NSTEPS] = {0};
  double secs_by_step[NSTEPS] = {0};
  uintptr_t *failed_sites = calloc(total + 1, sizeof *failed_sites);
  size_t nfailed_sites = 0;
  if (!failed_sites) {
    printf("FAIL %s: out of memory in the test\n", path);
    free_io(&io);
    return false;
  }
  uint64_t n = 1;
  for (;; n += opt->stride) {
    /* Stale outputs must not pass for the results of a run that wrote none. */
    for (int j = 0; j < io.nout; j++) {
      memset(io.eval[j], 0, io.out_n[j] * sizeof(float));
      memset(io.out[j], 0, io.out_n[j] * sizeof(float));
      memset(io.jout[j], 0, io.out_n[j] * sizeof(float));
    }
    double t_iter = now();
    fa_arm(n);
    s = pipeline(opt, path, &io, &o);
    fa_disarm();
    t_iter = now() - t_iter;
    uintptr_t site = 0;
    bool hit = fa_failed(&site);
    char why[1024] = "";
    if (!hit) {
      /* The end of the loop: allocation N was never reached. */
      if (s != KILN_OK)
        snprintf(why, sizeof why, "failed with no injected failure: %s: %s: %.400s", o.step, kiln_status_name(s), o.message);
      else if (!outputs_right(opt, &io, false))
        snprintf(why, sizeof why, "completed with wrong outputs");
    } else {
      injected++;
      if (!contains(failed_sites, nfailed_sites, site)) failed_sites[nfailed_sites++] = site;
      if (s == KILN_OK) {
        absorbed++;
        if (!outputs_right(opt, &io, false))
          snprintf(why, sizeof why, "completed with wrong outputs after the failure at %#llx",
                   (unsigned long long)fa_site_offset(site));
      } else {
        if (s == KILN_ERR_OUT_OF_MEMORY) oom_status++;
        for (int k = 0; k < NSTEPS; k++)
          if (!strcmp(o.step, steps[k])) {
            by_step[k]++;
            secs_by_step[k] += t_iter;
          }
        bool no_ctx = !strcmp(o.step, "context_create") || !strcmp(o.step, "run") || !strcmp(o.step, "jit_run");
        if (no_ctx && s != KILN_ERR_OUT_OF_MEMORY)
          snprintf(why, sizeof why, "%s failed with %s, not out of memory", o.step, kiln_status_name(s));
        else if (!no_ctx && !o.message[0])
          snprintf(why, sizeof why, "%s failed (%s) with no message", o.step, kiln_status_name(s));
        else if (o.files_left)
          snprintf(why, sizeof why, "%s failed (%s: %.400s) but left %s/%s", o.step, kiln_status_name(s), o.message,
                   opt->workdir, o.file_left);
      }
    }
    if (o.files_left) {
      char left[512];
      snprintf(left, sizeof left, "%s/%s", opt->workdir, o.file_left);
      unlink(left);
    }
    if (opt->verbose && hit)
      printf("  N=%llu at %#llx: %s %s %s\n", (unsigned long long)n, (unsigned long long)fa_site_offset(site),
             s == KILN_OK ? "absorbed" : o.step, s == KILN_OK ? "" : kiln_status_name(s), o.message);
    if (why[0]) {
      printf("  N=%llu (failing call at %#llx): %s\n", (unsigned long long)n, (unsigned long long)fa_site_offset(site),
             why);
      bad++;
    }
    if (fa_live(NULL, NULL, 0)) {
      char what[640];
      snprintf(what, sizeof what, "leaked after %s failed (%s: %.400s)", o.step ? o.step : "nothing",
               kiln_status_name(s), o.message);
      report_live(what, n);
      bad++;
    }
    if (!hit) break;
  }
  double secs = now() - t0;
  uintptr_t dummy;
  size_t sites = fa_sites(&dummy, 0);
  printf("%s %s: %llu allocations in a full run, %zu call sites reached; %llu failures injected "
         "at %zu distinct sites (stride %llu): %llu ended in KILN_ERR_OUT_OF_MEMORY, %llu in another error, "
         "%llu absorbed; %llu unclean; one full run %.0f ms, all %.1f s\n",
         bad || !ok ? "FAIL" : "ok  ", path, (unsigned long long)total, sites, (unsigned long long)injected,
         nfailed_sites, (unsigned long long)opt->stride, (unsigned long long)oom_status,
         (unsigned long long)(injected - absorbed - oom_status), (unsigned long long)absorbed,
         (unsigned long long)bad, t_full * 1e3, secs);
  printf("     failed steps:");
  for (int k = 0; k < NSTEPS; k++)
    if (by_step[k]) printf(" %s %llu (%.1f s)", steps[k], (unsigned long long)by_step[k], secs_by_step[k]);
  printf("\n");
  fflush(stdout);
  free(failed_sites);
  free_io(&io);
  return ok && !bad;
}

static int usage(void) {
  fprintf(stderr, "usage: faultinject [--jit] [-v] [-O LEVEL] [--stride K] WORKDIR MODEL.onnx...\n");
  return 2;
}

int main(int argc, char **argv) {
  options opt = {false, false, 0, 1, NULL};
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    char *end = NULL;
    if (!strcmp(argv[i], "--jit")) opt.jit = true;
    else if (!strcmp(argv[i], "-v")) opt.verbose = true;
    else if (!strcmp(argv[i], "-O") && i + 1 < argc) {
      long v = strtol(argv[++i], &end, 10);
      if (*end || v < 0 || v > 3) return usage();
      opt.opt_level = (int)v;
    } else if (!strcmp(argv[i], "--stride") && i + 1 < argc) {
      long long v = strtoll(argv[++i], &end, 10);
      if (*end || v < 1) return usage();
      opt.stride = (uint64_t)v;
    } else return usage();
  }
  if (argc - i < 2) return usage();
  opt.workdir = argv[i++];
  if (mkdir(opt.workdir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "cannot create %s: %s\n", opt.workdir, strerror(errno));
    return 1;
  }
  char left[256];
  if (dir_entry(opt.workdir, left, sizeof left)) {
    fprintf(stderr, "%s must be empty (it holds %s)\n", opt.workdir, left);
    return 1;
  }
  int failures = 0;
  for (; i < argc; i++)
    if (!run_model(&opt, argv[i])) failures++;
  rmdir(opt.workdir);
  return failures ? 1 : 0;
}

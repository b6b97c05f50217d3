/*
 * `kiln profile MODEL|ARTIFACT`: times every kernel of an instrumented
 * executable (a model JIT'd with KILN_INSTRUMENT_KERNELS, or a .so made by
 * `kiln compile --instrument`) over a number of runs, and hands the
 * figures to tools/profile_report.c for the table, trace, HTML and SVG.
 *
 * Measurement: the executable's trace hook stamps a monotonic clock at
 * each kernel's begin and end (the run's thread) and around each thread's
 * share of a parallel loop. Each thread writes only its own lane, so the
 * hook takes no lock; lanes are reset before every run, so after the last
 * run they hold exactly the run the trace shows. Warm-up runs go through
 * the same hook (its code and the pool's threads are warm when measuring
 * starts) but are not counted.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/cli.h"
#include "tools/profile.h"

/* One thread's spans during a run. Written only by that thread while the
 * run is in progress; read by the main thread between runs. */
typedef struct lane {
  prof_span *v;
  int n, cap;
  int64_t open; /* the begin stamp of the span in progress */
  bool lost;    /* a span could not be stored (out of memory) */
} lane;

typedef struct recorder {
  int64_t base;  /* the run's start */
  lane kernels;  /* kernel spans, the run's thread */
  int64_t *kopen; /* per kernel: its begin stamp (kernels may nest in principle) */
  int nkernels;
  int nthreads;
  lane *work;    /* nthreads lanes */
  atomic_bool stray; /* a thread or kernel index outside the ranges above (any thread may set it) */
} recorder;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void lane_push(lane *l, int kernel, int64_t t0, int64_t t1) {
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 64;
    prof_span *v = realloc(l->v, (size_t)cap * sizeof *v);
    if (!v) {
      l->lost = true;
      return;
    }
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = (prof_span){kernel, t0, t1};
}

/* The trace hook: called on the run's thread and on the pool's threads at
 * once; each touches only its own lane (thread index) or, for kernel
 * phases, the run thread's state. */
static void hook(void *user, int kernel, kiln_trace_phase phase, int thread, void *const *buffers) {
  (void)buffers;
  recorder *r = user;
  int64_t t = now_ns() - r->base;
  if (kernel < 0 || kernel >= r->nkernels) {
    atomic_store_explicit(&r->stray, true, memory_order_relaxed);
    return;
  }
  switch (phase) {
    case KILN_TRACE_KERNEL_BEGIN: r->kopen[kernel] = t; break;
    case KILN_TRACE_KERNEL_END: lane_push(&r->kernels, kernel, r->kopen[kernel], t); break;
    case KILN_TRACE_WORK_BEGIN:
    case KILN_TRACE_WORK_END:
      if (thread < 0 || thread >= r->nthreads) {
        atomic_store_explicit(&r->stray, true, memory_order_relaxed); /* not another thread's lane: that would race */
        return;
      }
      if (phase == KILN_TRACE_WORK_BEGIN) r->work[thread].open = t;
      else lane_push(&r->work[thread], kernel, r->work[thread].open, t);
      break;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median of v[0..n) (sorts v). */
static double median(double *v, int n) {
  if (n <= 0) return 0;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* qsort has no context argument; kiln profile sorts once, on one thread. */
static const prof_kernel *sort_base;
static int cmp_kernel_time(const void *a, const void *b) {
  double x = sort_base[*(const int *)a].median_ms, y = sort_base[*(const int *)b].median_ms;
  if (x != y) return x > y ? -1 : 1;
  return *(const int *)a - *(const int *)b; /* ties: launch order */
}

static size_t tensor_bytes(const kiln_tensor_info *t) {
  size_t n = kiln_dtype_size(t->dtype);
  for (int d = 0; d < t->rank; d++) n *= (size_t)t->dims[d];
  return n;
}

/* Runs the executable `warmup` + `runs` times with the recorder as its
 * hook and fills the figures of r. False after printing an error. */
static bool measure(kiln_executable *exe, const char *path, const void *const *ins, void *const *outs, void *ws,
                    recorder *rec, prof_result *r) {
  int nk = r->nkernels;
  double *times = calloc((size_t)r->runs * (size_t)nk + 1, sizeof *times); /* [run][kernel] */
  double *e2e = calloc((size_t)r->runs + 1, sizeof *e2e);
  double *col = calloc((size_t)r->runs + 1, sizeof *col);
  double *cover = calloc((size_t)r->runs + 1, sizeof *cover);
  bool *par = calloc((size_t)nk + 1, sizeof *par);
  bool ok = false;
  double busy = 0, par_wall = 0;
  if (!times || !e2e || !col || !cover || !par) {
    cli_error("out of memory");
    goto done;
  }
  for (int it = 0; it < r->warmup + r->runs; it++) {
    rec->kernels.n = 0;
    for (int t = 0; t < rec->nthreads; t++) rec->work[t].n = 0;
    double t0 = cli_now_ms();
    rec->base = now_ns();
    kiln_status s = kiln_executable_run(exe, ins, outs, ws);
    int64_t end = now_ns() - rec->base;
    double dt = cli_now_ms() - t0;
    if (s != KILN_OK) {
      cli_error("%s: the run failed: %s", path, kiln_status_name(s));
      goto done;
    }
    if (it < r->warmup) continue;
    int run = it - r->warmup;
    e2e[run] = dt;
    double *kt = times + (size_t)run * (size_t)nk;
    memset(par, 0, (size_t)nk * sizeof *par);
    for (int t = 0; t < rec->nthreads; t++)
      for (int k = 0; k < rec->work[t].n; k++) {
        const prof_span *sp = &rec->work[t].v[k];
        busy += (double)(sp->t1 - sp->t0) / 1e6;
        par[sp->kernel] = true;
      }
    for (int k = 0; k < rec->kernels.n; k++) {
      const prof_span *sp = &rec->kernels.v[k];
      double ms = (double)(sp->t1 - sp->t0) / 1e6;
      kt[sp->kernel] += ms;
      if (par[sp->kernel]) par_wall += ms;
    }
    double sum = 0;
    for (int k = 0; k < nk; k++) {
      r->kernels[k].parallel |= par[k];
      sum += kt[k];
    }
    cover[run] = dt > 0 ? sum / dt : 0;
    r->run_ns = end;
  }
  if (atomic_load(&rec->stray) || rec->kernels.lost) {
    cli_error("%s: the trace hook reported %s; the profile would be wrong", path,
              atomic_load(&rec->stray) ? "a kernel or thread index out of range" : "more spans than memory held");
    goto done;
  }
  for (int t = 0; t < rec->nthreads; t++)
    if (rec->work[t].lost) {
      cli_error("%s: out of memory recording thread %d's spans", path, t);
      goto done;
    }
  r->kernel_sum_ms = 0;
  for (int k = 0; k < nk; k++) {
    for (int run = 0; run < r->runs; run++) col[run] = times[(size_t)run * (size_t)nk + (size_t)k];
    r->kernels[k].median_ms = median(col, r->runs);
    r->kernel_sum_ms += r->kernels[k].median_ms;
  }
  for (int k = 0; k < rec->kernels.n; k++) r->kernels[rec->kernels.v[k].kernel].launches++;
  r->coverage = median(cover, r->runs);
  r->e2e_median_ms = median(e2e, r->runs); /* sorted now */
  r->e2e_min_ms = e2e[0];
  r->e2e_max_ms = e2e[r->runs - 1];
  r->idle_share = par_wall > 0 ? 1 - busy / ((double)r->threads * par_wall) : -1;
  /* The last run's spans, for the trace. */
  r->nkspans = rec->kernels.n;
  r->kspans = rec->kernels.v;
  r->nthreads = rec->nthreads;
  for (int t = 0; t < rec->nthreads; t++) {
    r->nwork[t] = rec->work[t].n;
    r->work[t] = rec->work[t].v;
  }
  sort_base = r->kernels;
  for (int k = 0; k < nk; k++) r->order[k] = k;
  qsort(r->order, (size_t)nk, sizeof *r->order, cmp_kernel_time);
  ok = true;
done:
  free(times);
  free(e2e);
  free(col);
  free(cover);
  free(par);
  return ok;
}

int cmd_profile(int argc, char **argv) {
  const char *path = NULL, *threads_s = NULL, *warmup_s = NULL, *runs_s = NULL, *seed_s = NULL, *trace = NULL;
  const char *html = NULL, *svg = NULL;
  char **specs = calloc((size_t)argc + 1, sizeof *specs);
  int nspecs = 0;
  long long threads = 0, warmup = 3, runs = 20, seed = 0;
  const char *jit_only = NULL; /* the first option given that only the JIT uses */
  cli_model_opts mo = {0};
  kiln_context *ctx = NULL;
  int rc = 2;
  if (!specs) goto done;
  for (int i = 1; i < argc; i++) {
    const char *v;
    int m = cli_model_option(argc, argv, &i, CLI_MOPT_SHAPE | CLI_MOPT_PASSES, &mo);
    if (m < 0) goto done;
    if (m > 0) {
      if (!jit_only) jit_only = mo.first;
      continue;
    }
    if (cli_flag_value(argc, argv, &i, "--input", &v)) specs[nspecs++] = (char *)v;
    else if (cli_flag_once(argc, argv, &i, "--threads", &threads_s)) {
      if (!cli_parse_int("--threads", threads_s, 1, 4096, &threads)) goto done;
    } else if (cli_flag_once(argc, argv, &i, "--warmup", &warmup_s)) {
      if (!cli_parse_int("--warmup", warmup_s, 0, 1000000, &warmup)) goto done;
    } else if (cli_flag_once(argc, argv, &i, "--runs", &runs_s)) {
      if (!cli_parse_int("--runs", runs_s, 1, 100000, &runs)) goto done;
    } else if (cli_flag_once(argc, argv, &i, "--seed", &seed_s)) {
      if (!cli_parse_int("--seed", seed_s, 0, INT64_MAX, &seed)) goto done;
    } else if (cli_flag_once(argc, argv, &i, "--trace", &trace)) continue;
    else if (cli_flag_once(argc, argv, &i, "--html", &html)) continue;
    else if (cli_flag_once(argc, argv, &i, "--svg", &svg)) continue;
    else if (!cli_positional("profile", "model or artifact", argv[i], &path)) goto done;
  }
  if (!cli_need_positional("profile", "model or artifact", path)) goto done;
  if (nspecs && seed_s) {
    cli_error("profile: --seed makes random inputs; it does not apply when --input gives them");
    goto done;
  }
  rc = 1;
  /* Output paths are checked before a compile that may take a while. */
  if ((trace && !cli_check_output_path("profile", "trace", trace)) ||
      (html && !cli_check_output_path("profile", "HTML report", html)) ||
      (svg && !cli_check_output_path("profile", "SVG", svg)))
    goto done;
  bool artifact = cli_is_artifact(path);
  if (artifact && jit_only) {
    cli_error("profile: %s applies only when kiln profile compiles a model (JIT); %s is a compiled artifact, whose "
              "code and shapes kiln compile fixed", jit_only, path);
    rc = 2;
    goto done;
  }
  prof_result r = {0};
  r.path = path;
  r.artifact = artifact;
  r.warmup = (int)warmup;
  r.runs = (int)runs;

  ctx = cli_model_context(&mo);
  kiln_executable *exe = NULL;
  kiln_tensor_info *ins = NULL, *outs = NULL;
  cli_inputs in = {0};
  cli_outputs out = {0};
  void *ws = NULL;
  recorder rec = {0};
  if (artifact) {
    if (kiln_executable_open(ctx, path, &exe) != KILN_OK) {
      cli_fail(ctx, "cannot load the artifact");
      goto cleanup;
    }
    if (kiln_executable_num_kernels(exe) == 0) {
      cli_error("%s was compiled without instrumentation: it has no kernel table to profile. Compile it with "
                "`kiln compile --instrument`, or profile the model itself (kiln profile MODEL JIT-compiles it "
                "instrumented)", path);
      goto cleanup;
    }
  } else {
    kiln_status s = kiln_context_set_instrument(ctx, KILN_INSTRUMENT_KERNELS);
    if (s != KILN_OK) {
      cli_error("profile: this libkiln cannot compile instrumented code (kiln_context_set_instrument: %s)",
                kiln_status_name(s));
      goto cleanup;
    }
    if (cli_jit_model(ctx, path, &mo, nspecs, specs, false, &exe) != KILN_OK) {
      cli_fail(ctx, "JIT compilation failed");
      goto cleanup;
    }
  }
  if (threads_s) kiln_executable_set_num_threads(exe, (int)threads);
  r.threads = kiln_executable_num_threads(exe);
  r.nkernels = kiln_executable_num_kernels(exe);
  if (r.nkernels <= 0) {
    cli_error("%s: the compiled code has no kernel table (instrumentation did not take)", path);
    goto cleanup;
  }
  r.kernels = calloc((size_t)r.nkernels, sizeof *r.kernels);
  r.order = calloc((size_t)r.nkernels, sizeof *r.order);
  r.nwork = calloc((size_t)r.threads, sizeof *r.nwork);
  r.work = calloc((size_t)r.threads, sizeof *r.work);
  rec.kopen = calloc((size_t)r.nkernels, sizeof *rec.kopen);
  rec.work = calloc((size_t)r.threads, sizeof *rec.work);
  if (!r.kernels || !r.order || !r.nwork || !r.work || !rec.kopen || !rec.work) {
    cli_error("out of memory");
    goto cleanup;
  }
  rec.nkernels = r.nkernels;
  rec.nthreads = r.threads;
  for (int k = 0; k < r.nkernels; k++)
    if (kiln_executable_kernel(exe, k, &r.kernels[k].info) != KILN_OK) {
      cli_error("%s: cannot read kernel %d of the kernel table", path, k);
      goto cleanup;
    }

  int ni = kiln_executable_num_inputs(exe), no = kiln_executable_num_outputs(exe);
  ins = calloc((size_t)ni + 1, sizeof *ins);
  outs = calloc((size_t)no + 1, sizeof *outs);
  if (!ins || !outs) goto cleanup;
  for (int i = 0; i < ni; i++) {
    kiln_executable_input(exe, i, &ins[i]);
    r.input_bytes += tensor_bytes(&ins[i]);
  }
  for (int i = 0; i < no; i++) {
    kiln_executable_output(exe, i, &outs[i]);
    r.output_bytes += tensor_bytes(&outs[i]);
  }
  if (nspecs ? !cli_load_inputs(ni, ins, nspecs, specs, &in) : !cli_random_inputs(ni, ins, (unsigned long long)seed, &in)) {
    if (in.usage_error) rc = 2;
    goto cleanup;
  }
  if (!cli_alloc_outputs(no, outs, &out)) goto cleanup;
  r.workspace = kiln_executable_workspace_size(exe);
  if (r.workspace) {
    ws = aligned_alloc(64, (r.workspace + 63) / 64 * 64);
    if (!ws) {
      cli_error("cannot allocate the workspace (%zu bytes)", r.workspace);
      goto cleanup;
    }
  }
  /* The peak before any run, while the pool's threads are idle. */
  r.peak = prof_measure_peak(50);
  if (kiln_executable_set_trace(exe, hook, &rec) != KILN_OK) {
    cli_error("%s: cannot set the trace hook", path);
    goto cleanup;
  }
  bool measured = measure(exe, path, in.ptrs, out.ptrs, ws, &rec, &r);
  kiln_executable_set_trace(exe, NULL, NULL);
  if (!measured) goto cleanup;
  prof_print_table(stdout, &r);
  if (trace && !prof_write_trace(trace, &r)) goto cleanup;
  if (html && !prof_write_html(html, &r)) goto cleanup;
  if (svg && !prof_write_svg(svg, &r)) goto cleanup;
  rc = 0;
cleanup:
  free(rec.kernels.v);
  for (int t = 0; rec.work && t < rec.nthreads; t++) free(rec.work[t].v);
  free(rec.work);
  free(rec.kopen);
  free(r.kernels);
  free(r.order);
  free(r.nwork);
  free(r.work);
  free(ws);
  cli_free_inputs(&in);
  cli_free_outputs(&out);
  free(ins);
  free(outs);
  kiln_executable_destroy(exe);
done:
  free(specs);
  kiln_context_destroy(ctx);
  return rc;
}

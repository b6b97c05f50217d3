/*
 * kiln profile's pieces (tools/cmd_profile.c runs and measures,
 * tools/profile_report.c prints the table and writes the trace, HTML and
 * SVG, tools/peak.c measures the machine's peak). Only tools/ uses it.
 */
#ifndef KILN_TOOLS_PROFILE_H
#define KILN_TOOLS_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kiln/kiln.h"

/* One core's measured f32 FMA throughput. */
typedef struct prof_peak {
  double gflops;   /* GFLOP/s of one core (a multiply-add counts 2) */
  const char *isa; /* "AVX-512", "AVX2+FMA", "scalar" */
  int lanes;       /* f32 lanes of the vectors used */
} prof_peak;
/* Runs FMA chains on the calling thread for about budget_ms. */
prof_peak prof_measure_peak(double budget_ms);

/* A kernel's figures over the measured runs. */
typedef struct prof_kernel {
  kiln_kernel_info info;
  double median_ms;     /* median over the runs of its time in a run (all its launches) */
  int launches;         /* launches in the last run (1 for a kernel outside any loop; FLOPs and bytes count each) */
  bool parallel;        /* whether any thread reported a share of a parallel loop for it */
} prof_kernel;

/* A span of the traced run, in nanoseconds from the run's start. */
typedef struct prof_span {
  int kernel;
  int64_t t0, t1;
} prof_span;

typedef struct prof_result {
  const char *path;     /* the model or artifact profiled */
  bool artifact;        /* an AOT .so rather than a JIT'd model */
  int threads, warmup, runs;
  prof_peak peak;
  int nkernels;
  prof_kernel *kernels; /* launch order */
  int *order;           /* kernel indices, slowest first */
  double kernel_sum_ms; /* sum of the kernels' medians */
  double e2e_median_ms; /* median end-to-end latency of the measured (instrumented) runs */
  double e2e_min_ms, e2e_max_ms;
  double coverage;      /* median over the runs of (the run's kernel times summed) / (its end-to-end time) */
  double idle_share;    /* 1 - busy / (threads x wall of parallel kernels); < 0: no parallel kernel ran */
  size_t workspace, input_bytes, output_bytes;
  /* The last run, for the trace: its wall time, its kernel spans (the
   * run's thread) and each thread's work spans. */
  int64_t run_ns;
  int nkspans;
  prof_span *kspans;
  int nthreads;         /* lanes of work spans: one per thread */
  int *nwork;
  prof_span **work;
} prof_result;

/* The table sorted by time, then the totals. */
void prof_print_table(FILE *f, const prof_result *r);
/* Chrome trace event JSON of the last run (docs/profile.md). Prints an
 * error and returns false when the file cannot be written. */
bool prof_write_trace(const char *path, const prof_result *r);
/* A self-contained HTML page: the breakdown as inline SVG, then the table. */
bool prof_write_html(const char *path, const prof_result *r);
/* The breakdown alone as an SVG file. */
bool prof_write_svg(const char *path, const prof_result *r);

#endif

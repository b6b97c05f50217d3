/*
 * What kiln profile shows (docs/profile.md): the per-kernel table with
 * totals, the Chrome trace event JSON of the last run, and the time
 * breakdown drawn as SVG (alone, or in a self-contained HTML page with the
 * table). Everything here reads a finished prof_result; nothing measures.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/profile.h"

/* ---- numbers and text ---------------------------------------------------- */

/* 1234567 -> "1.23M": three significant digits and an SI prefix. */
static void si(double v, char *buf, size_t n) {
  static const char *prefix[] = {"", "k", "M", "G", "T", "P"};
  int p = 0;
  while (v >= 999.5 && p < 5) {
    v /= 1000;
    p++;
  }
  if (v == 0) snprintf(buf, n, "0");
  else if (v >= 99.5 || p == 0) snprintf(buf, n, "%.0f%s", v, prefix[p]);
  else if (v >= 9.995) snprintf(buf, n, "%.1f%s", v, prefix[p]);
  else snprintf(buf, n, "%.2f%s", v, prefix[p]);
}

/* s cut to at most w bytes, ending in "..." when cut, never inside a UTF-8
 * sequence. */
static void cut(const char *s, size_t w, char *buf, size_t n) {
  size_t len = strlen(s);
  if (w + 1 > n) w = n - 1;
  if (len <= w) {
    memcpy(buf, s, len + 1);
    return;
  }
  size_t k = w > 3 ? w - 3 : 0;
  while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80) k--;
  memcpy(buf, s, k);
  memcpy(buf + k, "...", 4);
}

/* Kernel times in the table and chart: milliseconds, or microseconds when
 * the slowest kernel takes under one (small models). */
static double time_scale(const prof_result *r, const char **unit) {
  bool us = r->nkernels > 0 && r->kernels[r->order[0]].median_ms < 1.0;
  *unit = us ? "us" : "ms";
  return us ? 1e3 : 1;
}

/* A kernel's figures as the table shows them. */
typedef struct row {
  char flops[16], gflops[16], peak[16], bytes[16], gbs[16];
  double share;
} row;

static void figures(const prof_result *r, const prof_kernel *k, row *out) {
  double s = k->median_ms / 1e3; /* seconds */
  double machine = r->peak.gflops * r->threads;
  /* The time is that of all the kernel's launches in a run (several for a
   * kernel inside a loop), so the work is counted per run too. */
  double n = k->launches > 1 ? k->launches : 1, flops = k->info.flops * n, bytes = k->info.bytes * n;
  si(flops, out->flops, sizeof out->flops);
  si(bytes, out->bytes, sizeof out->bytes);
  if (flops > 0 && s > 0) {
    double g = flops / s / 1e9;
    snprintf(out->gflops, sizeof out->gflops, "%.2f", g);
    if (machine > 0) snprintf(out->peak, sizeof out->peak, "%.1f%%", 100 * g / machine);
    else snprintf(out->peak, sizeof out->peak, "-");
  } else {
    snprintf(out->gflops, sizeof out->gflops, "-");
    snprintf(out->peak, sizeof out->peak, "-");
  }
  if (bytes > 0 && s > 0) snprintf(out->gbs, sizeof out->gbs, "%.2f", bytes / s / 1e9);
  else snprintf(out->gbs, sizeof out->gbs, "-");
  out->share = r->kernel_sum_ms > 0 ? 100 * k->median_ms / r->kernel_sum_ms : 0;
}

/* The lines above and below the table, shared by the terminal and HTML. */
static void header_line(const prof_result *r, char *buf, size_t n) {
  snprintf(buf, n, "%s (%s), %d thread%s, %d run%s after %d warm-up run%s", r->path,
           r->artifact ? "AOT artifact" : "JIT", r->threads, r->threads == 1 ? "" : "s", r->runs,
           r->runs == 1 ? "" : "s", r->warmup, r->warmup == 1 ? "" : "s");
}

static void peak_line(const prof_result *r, char *buf, size_t n) {
  snprintf(buf, n, "peak %.1f GFLOP/s per core (f32 FMA, %s, measured), %.1f GFLOP/s for %d thread%s", r->peak.gflops,
           r->peak.isa, r->peak.gflops * r->threads, r->threads, r->threads == 1 ? "" : "s");
}

/* l1: the kernels against the end-to-end time, two ways: the medians
 * (what the table adds up to) and, run by run, the share of each run that
 * its kernels cover (immune to runs that another process slowed). */
static void totals_lines(const prof_result *r, char *l1, char *l2, char *l3, size_t n) {
  snprintf(l1, n,
           "%d kernels: sum of kernel medians %.4f ms; end-to-end median %.4f ms (min %.4f, max %.4f; instrumented "
           "runs); ratio %.3f\n"
           "run by run, kernels cover %.1f%% of the end-to-end time (median over the runs)",
           r->nkernels, r->kernel_sum_ms, r->e2e_median_ms, r->e2e_min_ms, r->e2e_max_ms,
           r->e2e_median_ms > 0 ? r->kernel_sum_ms / r->e2e_median_ms : 0.0, 100 * r->coverage);
  char ws[16], in[16], out[16], tot[16];
  si((double)r->workspace, ws, sizeof ws);
  si((double)r->input_bytes, in, sizeof in);
  si((double)r->output_bytes, out, sizeof out);
  si((double)(r->workspace + r->input_bytes + r->output_bytes), tot, sizeof tot);
  snprintf(l2, n, "memory: workspace (the buffer plan's peak) %sB; inputs %sB; outputs %sB; total %sB (constants not counted)",
           ws, in, out, tot);
  int npar = 0;
  for (int k = 0; k < r->nkernels; k++) npar += r->kernels[k].parallel;
  if (r->idle_share < 0)
    snprintf(l3, n, "thread pool: %d thread%s; idle share - (no kernel ran a parallel loop)", r->threads,
             r->threads == 1 ? "" : "s");
  else
    snprintf(l3, n, "thread pool: %d thread%s; idle share %.1f%% (1 - busy / (threads x wall) over the %d parallel kernels)",
             r->threads, r->threads == 1 ? "" : "s", 100 * r->idle_share, npar);
}

enum { W_NODES = 36, W_SHAPE = 24, W_NAME_MAX = 24, W_KIND_MAX = 12 };

void prof_print_table(FILE *f, const prof_result *r) {
  char line[1024], l2[1024], l3[1024];
  header_line(r, line, sizeof line);
  fprintf(f, "kiln profile: %s\n", line);
  peak_line(r, line, sizeof line);
  fprintf(f, "%s\n\n", line);
  int wn = 6, wk = 4;
  for (int k = 0; k < r->nkernels; k++) {
    int a = (int)strlen(r->kernels[k].info.name), b = (int)strlen(r->kernels[k].info.kind);
    wn = a > wn ? a : wn;
    wk = b > wk ? b : wk;
  }
  wn = wn > W_NAME_MAX ? W_NAME_MAX : wn;
  wk = wk > W_KIND_MAX ? W_KIND_MAX : wk;
  const char *unit;
  double scale = time_scale(r, &unit);
  char time_head[16];
  snprintf(time_head, sizeof time_head, "time %s", unit);
  fprintf(f, "%-*s  %-*s  %-*s  %-*s  %8s  %8s  %6s  %8s  %7s  %9s  %6s\n", wn, "kernel", W_NODES, "onnx nodes", wk,
          "kind", W_SHAPE, "shape", "FLOPs", "GFLOP/s", "%peak", "bytes", "GB/s", time_head, "share");
  for (int i = 0; i < r->nkernels; i++) {
    const prof_kernel *k = &r->kernels[r->order[i]];
    char name[64], nodes[64], kind[32], shape[64];
    row w;
    figures(r, k, &w);
    cut(k->info.name, (size_t)wn, name, sizeof name);
    cut(k->info.onnx_nodes && k->info.onnx_nodes[0] ? k->info.onnx_nodes : "-", W_NODES, nodes, sizeof nodes);
    cut(k->info.kind, (size_t)wk, kind, sizeof kind);
    cut(k->info.shape, W_SHAPE, shape, sizeof shape);
    fprintf(f, "%-*s  %-*s  %-*s  %-*s  %8s  %8s  %6s  %8s  %7s  %9.3f  %5.1f%%\n", wn, name, W_NODES, nodes, wk, kind,
            W_SHAPE, shape, w.flops, w.gflops, w.peak, w.bytes, w.gbs, k->median_ms * scale, w.share);
  }
  totals_lines(r, line, l2, l3, sizeof line);
  fprintf(f, "\n%s\n%s\n%s\n", line, l2, l3);
}

/* ---- Chrome trace event JSON --------------------------------------------- */

/* A JSON string literal. */
static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

/* One complete ("X") event; ts and dur in microseconds. */
static void json_span(FILE *f, bool *first, const char *name, const char *cat, int tid, int64_t t0, int64_t t1) {
  fprintf(f, "%s\n{\"name\":", *first ? "" : ",");
  *first = false;
  json_str(f, name);
  fprintf(f, ",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f,\"pid\":1,\"tid\":%d", cat, (double)t0 / 1e3,
          (double)(t1 - t0) / 1e3, tid);
}

static bool close_file(FILE *f, const char *path) {
  bool ok = !ferror(f);
  ok = fclose(f) == 0 && ok;
  if (!ok) {
    cli_error("write error on %s", path);
    remove(path);
  }
  return ok;
}

bool prof_write_trace(const char *path, const prof_result *r) {
  FILE *f = fopen(path, "w");
  if (!f) {
    cli_error("cannot create %s: %s", path, strerror(errno));
    return false;
  }
  bool first = true;
  fputs("{\"traceEvents\":[", f);
  /* Names for the process and threads (metadata events, no time). */
  fprintf(f, "\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":");
  char title[1200];
  snprintf(title, sizeof title, "kiln profile: %s", r->path);
  json_str(f, title);
  fputs("}}", f);
  first = false;
  for (int t = 0; t < r->nthreads; t++) {
    char name[64];
    if (t == 0) snprintf(name, sizeof name, "run thread (pool thread 0)");
    else snprintf(name, sizeof name, "pool thread %d", t);
    fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"args\":{\"name\":\"%s\"}}", t, name);
  }
  json_span(f, &first, "run", "run", 0, 0, r->run_ns);
  fprintf(f, ",\"args\":{\"threads\":%d}}", r->threads);
  for (int i = 0; i < r->nkspans; i++) {
    const prof_span *s = &r->kspans[i];
    const kiln_kernel_info *k = &r->kernels[s->kernel].info;
    json_span(f, &first, k->name, "kernel", 0, s->t0, s->t1);
    fputs(",\"args\":{\"kind\":", f);
    json_str(f, k->kind);
    fputs(",\"onnx_nodes\":", f);
    json_str(f, k->onnx_nodes);
    fputs(",\"onnx_ops\":", f);
    json_str(f, k->onnx_ops);
    fputs(",\"shape\":", f);
    json_str(f, k->shape);
    fprintf(f, ",\"flops\":%.0f,\"bytes\":%.0f}}", k->flops, k->bytes);
  }
  for (int t = 0; t < r->nthreads; t++)
    for (int i = 0; i < r->nwork[t]; i++) {
      const prof_span *s = &r->work[t][i];
      json_span(f, &first, r->kernels[s->kernel].info.name, "work", t, s->t0, s->t1);
      fputs(",\"args\":{\"kernel\":", f);
      json_str(f, r->kernels[s->kernel].info.name);
      fputs("}}", f);
    }
  fputs("\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"producer\":", f);
  char producer[64];
  snprintf(producer, sizeof producer, "kiln %s profile", kiln_version());
  json_str(f, producer);
  fprintf(f, ",\"traced_run\":\"the last of %d measured runs\",\"threads\":%d}}\n", r->runs, r->threads);
  return close_file(f, path);
}

/* ---- SVG and HTML ---------------------------------------------------------- */

/* Text for HTML and SVG (both XML-escaped alike). */
static void xml_str(FILE *f, const char *s) {
  for (const char *p = s ? s : ""; *p; p++) {
    switch (*p) {
      case '&': fputs("&amp;", f); break;
      case '<': fputs("&lt;", f); break;
      case '>': fputs("&gt;", f); break;
      case '"': fputs("&quot;", f); break;
      case '\'': fputs("&#39;", f); break;
      default: fputc(*p, f);
    }
  }
}

static const struct {
  const char *kind, *colour;
} kind_colours[] = {
    {"gemm", "#4e79a7"}, {"conv", "#f28e2b"}, {"dwconv", "#e15759"}, {"loop", "#76b7b2"},
    {"reduce", "#59a14f"}, {"sort", "#edc948"}, {"copy", "#b07aa1"}, {"custom_call", "#ff9da7"},
    {"scatter", "#9c755f"},
};
#define NKINDS (sizeof kind_colours / sizeof kind_colours[0])
static const char *const other_colour = "#bab0ac";

static const char *colour_of(const char *kind) {
  for (size_t i = 0; i < NKINDS; i++)
    if (!strcmp(kind, kind_colours[i].kind)) return kind_colours[i].colour;
  return other_colour;
}

/* Bars of the chart: the top kernels, then "other" for the rest. */
enum { CHART_TOP = 20, ROW_H = 22, LABEL_W = 220, BAR_W = 520, TEXT_W = 170, CHART_W = LABEL_W + BAR_W + TEXT_W };

static void write_svg(FILE *f, const prof_result *r, bool standalone) {
  int top = r->nkernels < CHART_TOP ? r->nkernels : CHART_TOP;
  bool other = r->nkernels > top;
  double other_ms = 0;
  for (int i = top; i < r->nkernels; i++) other_ms += r->kernels[r->order[i]].median_ms;
  double max_ms = other_ms;
  for (int i = 0; i < top; i++)
    if (r->kernels[r->order[i]].median_ms > max_ms) max_ms = r->kernels[r->order[i]].median_ms;
  if (max_ms <= 0) max_ms = 1;
  int rows = top + other, legend_y = 30 + rows * ROW_H + 10;
  int height = legend_y + 30;
  fprintf(f, "<svg %sclass=\"breakdown\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
          standalone ? "xmlns=\"http://www.w3.org/2000/svg\" " : "", CHART_W, height, CHART_W, height);
  fprintf(f, "<style>text{font:12px sans-serif}.t{font-weight:bold}</style>\n");
  const char *unit;
  double scale = time_scale(r, &unit);
  fprintf(f, "<text class=\"t\" x=\"0\" y=\"16\">time per kernel (median of %d runs, %s); top %d of %d kernels</text>\n",
          r->runs, unit, top, r->nkernels);
  for (int i = 0; i < rows; i++) {
    bool is_other = i == top;
    const prof_kernel *k = is_other ? NULL : &r->kernels[r->order[i]];
    double ms = is_other ? other_ms : k->median_ms;
    double share = r->kernel_sum_ms > 0 ? 100 * ms / r->kernel_sum_ms : 0;
    int y = 30 + i * ROW_H;
    double w = BAR_W * ms / max_ms;
    char label[64];
    if (is_other) snprintf(label, sizeof label, "other (%d kernels)", r->nkernels - top);
    else cut(k->info.name, 30, label, sizeof label);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LABEL_W - 6, y + 15);
    xml_str(f, label);
    fprintf(f, "</text>\n<rect class=\"bar\" data-kernel=\"");
    xml_str(f, is_other ? "other" : k->info.name);
    fprintf(f, "\" data-kind=\"");
    xml_str(f, is_other ? "other" : k->info.kind);
    fprintf(f, "\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>", LABEL_W, y + 2, w < 1 ? 1 : w,
            ROW_H - 4, is_other ? other_colour : colour_of(k->info.kind));
    if (is_other) fprintf(f, "%d more kernels", r->nkernels - top);
    else {
      xml_str(f, k->info.name);
      fputs(" (", f);
      xml_str(f, k->info.kind);
      fputs(") ", f);
      xml_str(f, k->info.shape);
      fputs(": ", f);
      xml_str(f, k->info.onnx_nodes);
    }
    fprintf(f, "</title></rect>\n<text x=\"%.1f\" y=\"%d\">%.3f %s, %.1f%%</text>\n", LABEL_W + (w < 1 ? 1 : w) + 6,
            y + 15, ms * scale, unit, share);
  }
  /* The legend: only kinds that appear. */
  int x = 0;
  for (size_t c = 0; c <= NKINDS; c++) {
    const char *kind = c < NKINDS ? kind_colours[c].kind : "other";
    bool seen = false;
    for (int k = 0; k < r->nkernels && !seen; k++)
      seen = c < NKINDS ? !strcmp(r->kernels[k].info.kind, kind) : colour_of(r->kernels[k].info.kind) == other_colour;
    seen = seen || (c == NKINDS && other);
    if (!seen) continue;
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n", x,
            legend_y, c < NKINDS ? kind_colours[c].colour : other_colour, x + 16, legend_y + 11, kind);
    x += 24 + 8 * (int)strlen(kind);
  }
  fputs("</svg>\n", f);
}

bool prof_write_svg(const char *path, const prof_result *r) {
  FILE *f = fopen(path, "w");
  if (!f) {
    cli_error("cannot create %s: %s", path, strerror(errno));
    return false;
  }
  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
  write_svg(f, r, true);
  return close_file(f, path);
}

bool prof_write_html(const char *path, const prof_result *r) {
  FILE *f = fopen(path, "w");
  if (!f) {
    cli_error("cannot create %s: %s", path, strerror(errno));
    return false;
  }
  char line[1024], l2[1024], l3[1024];
  header_line(r, line, sizeof line);
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>kiln profile: ", f);
  xml_str(f, r->path);
  fputs("</title>\n<style>\nbody{font:14px sans-serif;margin:2em}\n"
        "table{border-collapse:collapse;font-size:13px}\n"
        "th,td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}\n"
        "td.l,th.l{text-align:left}\ntd.n{max-width:28em;overflow-wrap:anywhere;text-align:left}\n"
        "</style>\n</head>\n<body>\n<h1>kiln profile</h1>\n<p>",
        f);
  xml_str(f, line);
  fputs("<br>\n", f);
  peak_line(r, line, sizeof line);
  xml_str(f, line);
  fputs("</p>\n", f);
  write_svg(f, r, false);
  fputs("<table>\n<thead><tr><th class=\"l\">kernel</th><th class=\"l\">onnx nodes</th><th class=\"l\">kind</th>"
        "<th class=\"l\">shape</th><th>FLOPs</th><th>GFLOP/s</th><th>% peak</th><th>bytes</th><th>GB/s</th>"
        "<th>time ",
        f);
  const char *unit;
  double scale = time_scale(r, &unit);
  fprintf(f, "%s</th><th>share</th></tr></thead>\n<tbody>\n", unit);
  for (int i = 0; i < r->nkernels; i++) {
    const prof_kernel *k = &r->kernels[r->order[i]];
    row w;
    figures(r, k, &w);
    fputs("<tr><td class=\"l\">", f);
    xml_str(f, k->info.name);
    fputs("</td><td class=\"n\">", f);
    xml_str(f, k->info.onnx_nodes);
    fputs("</td><td class=\"l\">", f);
    xml_str(f, k->info.kind);
    fputs("</td><td class=\"l\">", f);
    xml_str(f, k->info.shape);
    fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%.3f</td><td>%.1f%%</td></tr>\n",
            w.flops, w.gflops, w.peak, w.bytes, w.gbs, k->median_ms * scale, w.share);
  }
  totals_lines(r, line, l2, l3, sizeof line);
  fputs("</tbody>\n</table>\n<p>", f);
  char *nl = strchr(line, '\n'); /* line holds two lines */
  if (nl) *nl = 0;
  xml_str(f, line);
  fputs("<br>\n", f);
  if (nl) {
    xml_str(f, nl + 1);
    fputs("<br>\n", f);
  }
  xml_str(f, l2);
  fputs("<br>\n", f);
  xml_str(f, l3);
  fputs("</p>\n</body>\n</html>\n", f);
  return close_file(f, path);
}

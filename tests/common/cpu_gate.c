/*
 * cpu_gate LEVEL PROGRAM [ARG...]: runs PROGRAM when this machine can run
 * code built for the x86-64 level LEVEL (x86-64-v2, x86-64-v3, ...), and
 * otherwise exits 77 (Meson's "skipped") saying which features it lacks.
 * The tests that force the code generator to a level (codegen cases,
 * ONNX conformance, models through kiln compile) run behind it, so a CPU
 * without AVX2 reports the x86-64-v3 variants as skipped instead of
 * dying of an illegal instruction.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/cpu_level.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s LEVEL PROGRAM [ARG...]\n", argv[0]);
    return 2;
  }
  char why[512];
  int r = tu_cpu_level_runs(argv[1], why, sizeof why);
  if (r < 0) {
    fprintf(stderr, "cpu_gate: %s\n", why);
    return 2;
  }
  if (r == 0) {
    printf("SKIPPED: code generated for %s cannot run on this machine: %s\n", argv[1], why);
    return 77;
  }
  execvp(argv[2], argv + 2);
  fprintf(stderr, "cpu_gate: cannot run %s: %s\n", argv[2], strerror(errno));
  return 1;
}

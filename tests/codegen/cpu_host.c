/*
 * A minimal program using a kiln artifact through kiln/artifact.h alone
 * (dlopen, no libkiln, no LLVM), small enough to run under QEMU user mode
 * with an old CPU model (`qemu-x86_64 -cpu Nehalem`: no AVX at all).
 *
 *   cpu_host ARTIFACT.so [OUTPUTS.bin]
 *
 * Fills every input with a fixed pattern, calls run, and prints one line:
 *   status=N selected=CPU missing=LIST
 * (selected/missing from the description's CPU fields). With OUTPUTS.bin
 * the outputs' bytes are written there, one after another, for the test
 * driver (cpu_check_test.py) to compare between artifacts and CPUs.
 * Exit: 0 run succeeded, 3 KILN_ARTIFACT_ERR_CPU, 1 anything else.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/artifact.h"

/* Deterministic values in [-1, 1) for any element type the tests use. */
static void fill(const kiln_artifact_tensor *t, void *p) {
  uint64_t n = 0;
  size_t es = t->dtype == KILN_ARTIFACT_F64 || t->dtype == KILN_ARTIFACT_I64 ? 8 : t->dtype == KILN_ARTIFACT_F32 || t->dtype == KILN_ARTIFACT_I32 ? 4 : 1;
  n = t->size_bytes / es;
  for (uint64_t i = 0; i < n; i++) {
    double v = (double)((i * 7919u) % 2000u) / 1000.0 - 1.0;
    if (t->dtype == KILN_ARTIFACT_F32) ((float *)p)[i] = (float)v;
    else if (t->dtype == KILN_ARTIFACT_F64) ((double *)p)[i] = v;
    else if (es == 8) ((int64_t *)p)[i] = (int64_t)(i % 7);
    else if (es == 4) ((int32_t *)p)[i] = (int32_t)(i % 7);
    else ((unsigned char *)p)[i] = (unsigned char)(i % 2);
  }
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: cpu_host ARTIFACT.so [OUTPUTS.bin]\n");
    return 1;
  }
  void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "cpu_host: %s\n", dlerror());
    return 1;
  }
  kiln_artifact_info_fn info;
  void *sym = dlsym(h, KILN_ARTIFACT_INFO_SYMBOL);
  if (!sym) {
    fprintf(stderr, "cpu_host: %s is not a kiln artifact\n", argv[1]);
    return 1;
  }
  memcpy(&info, &sym, sizeof info);
  const kiln_artifact_desc *d = info();
  if (d->abi_version != KILN_ARTIFACT_ABI_VERSION ||
      d->size < offsetof(kiln_artifact_desc, selected_cpu) + sizeof d->selected_cpu || !d->missing_features ||
      !d->selected_cpu) {
    fprintf(stderr, "cpu_host: %s has no CPU check fields\n", argv[1]);
    return 1;
  }
  void **in = calloc(d->num_inputs + 1, sizeof *in), **out = calloc(d->num_outputs + 1, sizeof *out);
  for (uint32_t i = 0; i < d->num_inputs; i++) {
    in[i] = malloc(d->inputs[i].size_bytes + 1);
    fill(&d->inputs[i], in[i]);
  }
  for (uint32_t i = 0; i < d->num_outputs; i++) out[i] = calloc(1, d->outputs[i].size_bytes + 1);
  d->set_num_threads(1);
  int status = d->run((const void *const *)in, out, NULL);
  char missing[512];
  d->missing_features(missing, sizeof missing);
  const char *sel = d->selected_cpu();
  printf("status=%d selected=%s missing=%s\n", status, sel ? sel : "(none)", missing[0] ? missing : "(none)");
  int rc = status == 0 ? 0 : status == KILN_ARTIFACT_ERR_CPU ? 3 : 1;
  if (status == 0 && argc == 3) {
    FILE *f = fopen(argv[2], "wb");
    for (uint32_t i = 0; f && i < d->num_outputs; i++) fwrite(out[i], 1, d->outputs[i].size_bytes, f);
    if (!f || fclose(f) != 0) {
      fprintf(stderr, "cpu_host: cannot write %s\n", argv[2]);
      rc = 1;
    }
  }
  for (uint32_t i = 0; i < d->num_inputs; i++) free(in[i]);
  for (uint32_t i = 0; i < d->num_outputs; i++) free(out[i]);
  free(in);
  free(out);
  dlclose(h);
  return rc;
}

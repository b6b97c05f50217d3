/*
 * Executables (public API in include/kiln/kiln.h): compiled code, JIT'd in
 * this process (api/compile.c, codegen/cg_jit.c) or loaded from a shared
 * object made by `kiln compile`. Both kinds hand out the same description
 * (kiln/artifact.h: kiln_artifact_desc), which is checked once here so
 * that nothing later trusts a malformed one; every other function goes
 * through it, so the two kinds behave the same by construction.
 *
 * dlopen uses RTLD_NOW (missing symbols, e.g. a custom_call target the
 * program does not define, fail here with dlerror's message rather than in
 * the middle of a run) and RTLD_LOCAL (the artifact's symbols, identical in
 * every artifact for kiln_artifact_info, do not leak into the global scope).
 *
 * Thread safety: after creation an executable is never written to, except
 * through the description's set_num_threads (an atomic in the runtime), so
 * any number of threads may run it at once (kiln.h's concurrency rule).
 * The exception is an instrumented executable's trace hook
 * (api/instrument.c), which kiln.h says to set while nothing runs and to
 * run one call at a time with.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "codegen/cg.h"
#include "kiln/artifact.h"
#include "runtime/rt_cpu.h"

/* The description up to and including num_threads: what every version-1
 * artifact has. The CPU fields after it were appended later. */
#define DESC_V1_SIZE (offsetof(kiln_artifact_desc, num_threads) + sizeof(void (*)(void)))
#define DESC_HAS(d, field) ((d)->size >= offsetof(kiln_artifact_desc, field) + sizeof((d)->field))

/* Refuses code this CPU cannot run, before anything of it runs: libkiln's
 * own copy of the runtime's check (runtime/rt_cpu.c) reads the features
 * the artifact records, so a broken or hostile artifact cannot vouch for
 * itself. Only x86-64 code on an x86-64 host is checked (elsewhere the
 * list is recorded, not checked); an artifact older than the fields is
 * accepted as before. */
static kiln_status check_cpu(kiln_context *ctx, const kiln_artifact_desc *d, const char *what) {
  if (!DESC_HAS(d, required_features) || !d->required_features || !d->target_triple ||
      strncmp(d->target_triple, "x86_64", 6) != 0)
    return KILN_OK;
  uint64_t have = rt_cpu_host_features();
  if (have == RT_CPU_UNKNOWN) return KILN_OK;
  int unknown = 0;
  uint64_t need = rt_cpu_parse(d->required_features, &unknown);
  if (unknown)
    return api_fail(ctx, KILN_ERR_UNSUPPORTED,
                    "%s: the artifact needs CPU features this kiln cannot check (%s); it was made by %s", what,
                    d->required_features, d->producer ? d->producer : "another kiln");
  size_t n = rt_cpu_missing_text(need, have, NULL, 0);
  if (n == 0) return KILN_OK;
  char *miss = malloc(n + 1);
  if (!miss) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  rt_cpu_missing_text(need, have, miss, n + 1);
  kiln_status s = api_fail(ctx, KILN_ERR_UNSUPPORTED, "%s: this CPU lacks %s needed by the artifact (built for %s)",
                           what, miss, d->target_cpu ? d->target_cpu : "another CPU");
  free(miss);
  return s;
}

static bool check_tensors(kiln_context *ctx, const char *what, const char *kind, const kiln_artifact_tensor *t,
                          uint32_t n, kiln_tensor_info **out) {
  *out = calloc((size_t)n + 1, sizeof **out);
  if (!*out) {
    api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    return false;
  }
  if (n && !t) {
    api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: the artifact lists %u %s but no descriptions", what, n, kind);
    return false;
  }
  for (uint32_t i = 0; i < n; i++) {
    if (!t[i].name || t[i].dtype < KILN_ARTIFACT_PRED || t[i].dtype > KILN_ARTIFACT_F64 || t[i].rank < 0 ||
        t[i].rank > KILN_MAX_RANK || (t[i].rank && !t[i].dims)) {
      api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: %s %u has an invalid description", what, kind, i);
      return false;
    }
    (*out)[i].name = t[i].name;
    (*out)[i].dtype = (kiln_dtype)t[i].dtype;
    (*out)[i].rank = t[i].rank;
    (*out)[i].dims = t[i].dims;
  }
  return true;
}

void kiln_executable_destroy(kiln_executable *exe) {
  if (!exe) return;
  free(exe->inputs);
  free(exe->outputs);
  free(exe->kernels);
  free(exe->kernel_outputs);
  free(exe->kernel_layouts);
  cg_jit_destroy(exe->jit);
  if (exe->dl) dlclose(exe->dl);
  free(exe);
}

kiln_status api_executable_init(kiln_executable *exe, const kiln_artifact_desc *d, const char *what,
                                kiln_executable **out) {
  kiln_context *ctx = exe->ctx;
  kiln_status s = KILN_OK;
  if (!d) s = api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: kiln_artifact_info returned NULL", what);
  else if (d->abi_version != KILN_ARTIFACT_ABI_VERSION)
    s = api_fail(ctx, KILN_ERR_UNSUPPORTED, "%s: artifact ABI version %u, this kiln reads version %d", what,
                 d->abi_version, KILN_ARTIFACT_ABI_VERSION);
  else if (d->size < DESC_V1_SIZE)
    s = api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: the artifact's description is %u bytes, expected at least %zu",
                 what, d->size, (size_t)DESC_V1_SIZE);
  else if (!d->name || !d->run || !d->set_num_threads || !d->num_threads)
    s = api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: the artifact's description is incomplete", what);
  else
    s = check_cpu(ctx, d, what);
  if (s == KILN_OK) {
    exe->desc = d;
    if (!check_tensors(ctx, what, "input", d->inputs, d->num_inputs, &exe->inputs) ||
        !check_tensors(ctx, what, "output", d->outputs, d->num_outputs, &exe->outputs) ||
        !api_executable_kernels(exe, what))
      s = KILN_ERR_INVALID_ARGUMENT;
  }
  if (s != KILN_OK) {
    kiln_executable_destroy(exe);
    return ctx->have_error ? s : api_fail(ctx, s, "%s: invalid artifact", what);
  }
  if (ctx->num_threads > 0) d->set_num_threads(ctx->num_threads);
  *out = exe;
  return KILN_OK;
}

kiln_status kiln_executable_open(kiln_context *ctx, const char *path, kiln_executable **out) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (!path || !out) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_executable_open: NULL argument");
  *out = NULL;
  /* A name without '/' would be searched in the library path. */
  size_t n = strlen(path);
  char *p = malloc(n + 3);
  if (!p) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  if (strchr(path, '/')) memcpy(p, path, n + 1);
  else {
    memcpy(p, "./", 2);
    memcpy(p + 2, path, n + 1);
  }
  kiln_executable *exe = calloc(1, sizeof *exe);
  if (!exe) {
    free(p);
    return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  }
  exe->ctx = ctx;
  exe->dl = dlopen(p, RTLD_NOW | RTLD_LOCAL);
  free(p);
  if (!exe->dl) {
    const char *e = dlerror();
    kiln_executable_destroy(exe);
    return api_fail(ctx, KILN_ERR_IO, "cannot load %s: %s", path, e ? e : "dlopen failed");
  }
  void *sym = dlsym(exe->dl, KILN_ARTIFACT_INFO_SYMBOL);
  if (!sym) {
    kiln_executable_destroy(exe);
    return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s is not a kiln artifact (no %s)", path, KILN_ARTIFACT_INFO_SYMBOL);
  }
  kiln_artifact_info_fn info;
  memcpy(&info, &sym, sizeof info); /* object pointer to function pointer, as POSIX allows */
  return api_executable_init(exe, info(), path, out);
}

const char *kiln_executable_name(const kiln_executable *exe) { return exe ? exe->desc->name : NULL; }
const void *kiln_executable_description(const kiln_executable *exe) { return exe ? exe->desc : NULL; }
int kiln_executable_num_inputs(const kiln_executable *exe) { return exe ? (int)exe->desc->num_inputs : 0; }
int kiln_executable_num_outputs(const kiln_executable *exe) { return exe ? (int)exe->desc->num_outputs : 0; }

kiln_status kiln_executable_input(const kiln_executable *exe, int i, kiln_tensor_info *out) {
  if (!exe || !out || i < 0 || i >= (int)exe->desc->num_inputs) return KILN_ERR_INVALID_ARGUMENT;
  *out = exe->inputs[i];
  return KILN_OK;
}

kiln_status kiln_executable_output(const kiln_executable *exe, int i, kiln_tensor_info *out) {
  if (!exe || !out || i < 0 || i >= (int)exe->desc->num_outputs) return KILN_ERR_INVALID_ARGUMENT;
  *out = exe->outputs[i];
  return KILN_OK;
}

int kiln_executable_find_input(const kiln_executable *exe, const char *name) {
  for (int i = 0; exe && name && i < (int)exe->desc->num_inputs; i++)
    if (strcmp(exe->inputs[i].name, name) == 0) return i;
  return -1;
}

int kiln_executable_find_output(const kiln_executable *exe, const char *name) {
  for (int i = 0; exe && name && i < (int)exe->desc->num_outputs; i++)
    if (strcmp(exe->outputs[i].name, name) == 0) return i;
  return -1;
}

size_t kiln_executable_workspace_size(const kiln_executable *exe) {
  return exe ? (size_t)exe->desc->workspace_size : 0;
}

void kiln_executable_set_num_threads(kiln_executable *exe, int n) {
  if (exe) exe->desc->set_num_threads(n);
}

int kiln_executable_num_threads(const kiln_executable *exe) { return exe ? exe->desc->num_threads() : 0; }

kiln_status kiln_executable_run(kiln_executable *exe, const void *const *inputs, void *const *outputs,
                                void *workspace) {
  if (!exe) return KILN_ERR_INVALID_ARGUMENT;
  switch (exe->desc->run(inputs, outputs, workspace)) {
    case KILN_ARTIFACT_OK: return KILN_OK;
    case KILN_ARTIFACT_ERR_ARGUMENT: case KILN_ARTIFACT_ERR_ALIGNMENT: return KILN_ERR_INVALID_ARGUMENT;
    case KILN_ARTIFACT_ERR_MEMORY: return KILN_ERR_OUT_OF_MEMORY;
    case KILN_ARTIFACT_ERR_CPU: return KILN_ERR_UNSUPPORTED; /* only when the CPU changed under a checked executable */
    default: return KILN_ERR_RUNTIME;
  }
}

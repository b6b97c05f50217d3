/*
 * The kiln artifact ABI: what a shared object made by `kiln compile` exports.
 *
 * This header is all a program needs to use any kiln artifact without its
 * generated header: dlopen the .so, look up `kiln_artifact_info`, and read
 * the description it returns. It depends on nothing but <stddef.h> and
 * <stdint.h>; it does not need libkiln.
 *
 * An artifact made with name NAME (`kiln compile --name NAME`) exports:
 *
 *   int    kiln_NAME_run(const void *const *inputs, void *const *outputs, void *workspace);
 *   size_t kiln_NAME_workspace_size(void);
 *   void   kiln_NAME_set_num_threads(int n);
 *   int    kiln_NAME_num_threads(void);
 *   const kiln_artifact_desc *kiln_NAME_info(void);
 *   const kiln_artifact_desc *kiln_artifact_info(void);   -- the same description
 *
 * `kiln_artifact_info` has the same name in every artifact: it is meant for
 * dlopen (each handle has its own). A program that links several artifacts
 * directly uses the named `kiln_NAME_info` instead.
 *
 * Calling convention of run:
 *   - inputs[i] points to input i, outputs[i] to output i: dense arrays of
 *     the element type and dimensions described below, ordered by the
 *     layout (`minor_to_major`, row-major unless a model says otherwise).
 *     Any alignment of the element type's size is fine.
 *   - Output buffers must not overlap each other, any input, or the
 *     workspace. Inputs are only read; they may overlap each other.
 *   - workspace: `workspace_size` bytes, aligned to `workspace_align` (64),
 *     owned by the caller, holding nothing between calls (contents are
 *     scratch). NULL makes run allocate (and free) one itself with malloc.
 *   - Returns KILN_ARTIFACT_OK (0) or one of the KILN_ARTIFACT_ERR_* codes.
 *     On an error the outputs hold unspecified values.
 *
 * Threads: run may be called from several threads at once, each call with
 * its own workspace (or NULL) and its own outputs. The artifact has one
 * thread pool (started at the first parallel loop, stopped when the .so is
 * unloaded); a call that finds the pool busy with another call runs its
 * loops on its own thread instead of waiting. set_num_threads (n <= 0: one
 * per core the process may run on) is safe at any time and applies from the
 * next parallel loop; the count includes the calling thread.
 *
 * Ownership: everything the description points to is constant data inside
 * the .so, valid until it is unloaded (dlclose). Never write to it or free
 * it.
 *
 * Versioning: `abi_version` changes when a field changes meaning or
 * position; new fields are only ever appended, and `size` says how many
 * bytes of the struct this artifact provides. A reader checks
 * `abi_version == KILN_ARTIFACT_ABI_VERSION` and `size >= ` the offset
 * just past the last field it reads.
 */
#ifndef KILN_ARTIFACT_H
#define KILN_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_ARTIFACT_ABI_VERSION 1

/* Status codes returned by kiln_NAME_run. */
enum {
  KILN_ARTIFACT_OK = 0,
  KILN_ARTIFACT_ERR_ARGUMENT = 1,    /* inputs or outputs NULL (or a NULL entry for a non-empty array) */
  KILN_ARTIFACT_ERR_MEMORY = 2,      /* workspace NULL and malloc failed */
  KILN_ARTIFACT_ERR_ALIGNMENT = 3,   /* workspace not aligned to workspace_align */
  KILN_ARTIFACT_ERR_CUSTOM_CALL = 4, /* an external kernel (custom_call) returned non-zero */
};

/* Element types: the same numbering as kiln_dtype in kiln/kiln.h. */
enum {
  KILN_ARTIFACT_PRED = 0, /* one byte, 0 or 1 */
  KILN_ARTIFACT_I8, KILN_ARTIFACT_I16, KILN_ARTIFACT_I32, KILN_ARTIFACT_I64,
  KILN_ARTIFACT_U8, KILN_ARTIFACT_U16, KILN_ARTIFACT_U32, KILN_ARTIFACT_U64,
  KILN_ARTIFACT_F16, KILN_ARTIFACT_BF16, KILN_ARTIFACT_F32, KILN_ARTIFACT_F64,
};

/* One input or output. */
typedef struct kiln_artifact_tensor {
  const char *name;               /* the model's name for it (UTF-8, NUL-terminated) */
  int32_t dtype;                  /* KILN_ARTIFACT_* element type */
  int32_t rank;                   /* 0..8 */
  const int64_t *dims;            /* rank entries */
  const int32_t *minor_to_major;  /* rank entries: the layout; {rank-1, ..., 0} is row-major */
  uint64_t size_bytes;            /* bytes of the dense array */
} kiln_artifact_tensor;

typedef struct kiln_artifact_desc {
  uint32_t abi_version;           /* KILN_ARTIFACT_ABI_VERSION */
  uint32_t size;                  /* sizeof(kiln_artifact_desc) of the producing kiln */
  const char *name;               /* NAME, as in kiln_NAME_run */
  const char *producer;           /* "kiln 0.1.0" */
  const char *target_triple;      /* LLVM target triple the code was made for */
  const char *target_cpu;         /* LLVM CPU name, e.g. "znver4" */
  uint32_t num_inputs, num_outputs;
  const kiln_artifact_tensor *inputs;   /* num_inputs entries */
  const kiln_artifact_tensor *outputs;  /* num_outputs entries */
  uint64_t workspace_size;        /* bytes; may be 0 */
  uint64_t workspace_align;       /* 64 */
  int (*run)(const void *const *inputs, void *const *outputs, void *workspace);
  void (*set_num_threads)(int n);
  int (*num_threads)(void);
} kiln_artifact_desc;

/* The symbol every artifact exports (see above). */
#define KILN_ARTIFACT_INFO_SYMBOL "kiln_artifact_info"
typedef const kiln_artifact_desc *(*kiln_artifact_info_fn)(void);

#ifdef __cplusplus
}
#endif
#endif

/*
 * The CPU and feature names LLVM knows, per LLVM target (the table is
 * generated at build time by codegen/gen_llvm_names.sh from llc), and the
 * check of a user's CPU name and feature list against them.
 *
 * LLVM itself only prints a warning to stderr for a name it does not know
 * and carries on; checking first lets the library refuse the name with a
 * diagnostic instead, without touching the process's stderr.
 */
#ifndef KILN_CG_LLVM_NAMES_H
#define KILN_CG_LLVM_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/diag.h"

/* One LLVM target (LLVMGetTargetName: "x86-64", "aarch64", ...); each list
 * is NUL-terminated names, ended by an empty name. */
typedef struct cg_llvm_names {
  const char *target;
  const char *cpus;
  const char *features;
} cg_llvm_names;

extern const cg_llvm_names cg_llvm_names_tables[];
extern const size_t cg_llvm_names_ntables;

/* Checks `cpu` ("" is LLVM's default) and `features` (comma-separated
 * "+name" / "-name"; empty items are skipped) for LLVM target `target`.
 * On failure reports one error naming the unknown CPU or feature, with the
 * nearest known name when one is close, and returns false. A target the
 * table does not list (none, as the table comes from the same LLVM) is
 * not checked. */
bool cg_check_llvm_names(const char *target, const char *cpu, const char *features, diag *d);

#endif

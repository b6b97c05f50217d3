/*
 * A map from names to instruction ids: open addressing with linear probing
 * over FNV-1a hashes, grown at half load. Keys are not copied (they live in
 * a module's arena, or the ONNX model being imported). The parser resolves
 * operand names with it, the verifier checks that names are unique in the
 * module, and the ONNX importer maps value names to instructions.
 */
#ifndef KILN_IR_NAMEMAP_H
#define KILN_IR_NAMEMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/ir.h"

typedef struct ir_namemap {
  const char **keys;
  ir_id *vals;
  size_t cap, n;
} ir_namemap; /* zero-initialised: empty */

/* The id of the name s[0..n) (not NUL-terminated: names are looked up in
 * place in source text); IR_NONE when absent. */
ir_id ir_namemap_get(const ir_namemap *m, const char *s, size_t n);
/* Adds key -> v; key must not be present yet. false when out of memory. */
bool ir_namemap_put(ir_namemap *m, const char *key, ir_id v);
/* Frees the tables and leaves m empty. */
void ir_namemap_free(ir_namemap *m);

#endif

/*
 * The two functions of the public API that tools/npy.c calls, for the
 * standalone fuzz build of run.sh, which compiles only the sources a target
 * needs (with coverage instrumentation) instead of the whole library. They
 * forward to ir/types.c exactly as api/kiln_api.c does.
 */
#include "ir/types.h"
#include "kiln/kiln.h"

const char *kiln_dtype_name(kiln_dtype t) { return (unsigned)t < IR_TUPLE ? ir_type_name((ir_type)t) : "?"; }
size_t kiln_dtype_size(kiln_dtype t) { return (unsigned)t < IR_TUPLE ? ir_type_size((ir_type)t) : 0; }

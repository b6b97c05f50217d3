/*
 * Binding symbolic modules to concrete sizes (ir/symbolic.h). Placeholder
 * until the binding is written: both functions refuse.
 */
#include "ir/symbolic.h"

bool ir_binding_from_params(const ir_module *m, const ir_shape *actual, uint32_t n, int64_t *binding, diag *d) {
  (void)m, (void)actual, (void)n, (void)binding;
  diag_error(d, "binding symbolic dimensions is not implemented yet");
  return false;
}

ir_module *ir_module_bind(const ir_module *m, const int64_t *binding, diag *d) {
  (void)m, (void)binding;
  diag_error(d, "binding symbolic dimensions is not implemented yet");
  return NULL;
}

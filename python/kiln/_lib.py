"""ctypes declarations of libkiln's C API (include/kiln/kiln.h) and the
search for the library.

Only this module knows C types; kiln/__init__.py builds the Python API on
it. Every function used is declared with its argument and result types, so
a pointer is never truncated to an int and a wrong argument fails in
ctypes rather than in C.

Which libkiln is loaded, first match wins:
  1. $KILN_LIBRARY, a path to libkiln.so (e.g. a build folder's api/libkiln.so);
  2. the library named in kiln/_config.py, which Meson writes beside the
     package: the build folder's libkiln for the copy in BUILD/python, the
     installed one for an installed package;
  3. the system loader's libkiln.so.0 (a libkiln installed in its path).
"""
import ctypes
import os

c_int = ctypes.c_int
c_uint = ctypes.c_uint
c_char_p = ctypes.c_char_p
c_void_p = ctypes.c_void_p
c_size_t = ctypes.c_size_t
c_double = ctypes.c_double
POINTER = ctypes.POINTER


class TensorInfo(ctypes.Structure):
    """kiln_tensor_info: pointers owned by the model or executable."""
    _fields_ = [('name', c_char_p), ('dtype', c_int), ('rank', c_int), ('dims', POINTER(ctypes.c_int64))]


DIAG_FN = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_char_p)
DUMP_FN = ctypes.CFUNCTYPE(None, c_void_p, c_char_p, c_char_p)

# name: (result type, argument types)
_SIGNATURES = {
    'kiln_version': (c_char_p, []),
    'kiln_status_name': (c_char_p, [c_int]),
    'kiln_dtype_name': (c_char_p, [c_int]),
    'kiln_dtype_size': (c_size_t, [c_int]),
    'kiln_free': (None, [c_void_p]),
    'kiln_context_create': (c_int, [POINTER(c_void_p)]),
    'kiln_context_destroy': (None, [c_void_p]),
    'kiln_context_last_error': (c_char_p, [c_void_p]),
    'kiln_context_set_diagnostics': (None, [c_void_p, DIAG_FN, c_void_p]),
    'kiln_context_bind_input_shape': (c_int, [c_void_p, c_char_p, c_int, POINTER(ctypes.c_int64)]),
    'kiln_context_bound_input_shape': (c_int, [c_void_p, c_char_p, c_int, POINTER(ctypes.c_int64)]),
    'kiln_context_set_ir_dump': (None, [c_void_p, c_char_p, DUMP_FN, c_void_p]),
    'kiln_context_set_remarks': (None, [c_void_p, c_int]),
    'kiln_context_set_target': (c_int, [c_void_p, c_char_p, c_char_p, c_char_p]),
    'kiln_context_set_num_threads': (c_int, [c_void_p, c_int]),
    'kiln_context_set_opt_level': (c_int, [c_void_p, c_int]),
    'kiln_model_from_kir': (c_int, [c_void_p, c_char_p, c_size_t, c_char_p, POINTER(c_void_p)]),
    'kiln_model_from_onnx_bytes': (c_int, [c_void_p, c_char_p, c_size_t, POINTER(c_void_p)]),
    'kiln_model_load_file': (c_int, [c_void_p, c_char_p, POINTER(c_void_p)]),
    'kiln_model_load_onnx': (c_int, [c_void_p, c_char_p, POINTER(c_void_p)]),
    'kiln_model_destroy': (None, [c_void_p]),
    'kiln_model_num_inputs': (c_int, [c_void_p]),
    'kiln_model_num_outputs': (c_int, [c_void_p]),
    'kiln_model_input': (c_int, [c_void_p, c_int, POINTER(TensorInfo)]),
    'kiln_model_output': (c_int, [c_void_p, c_int, POINTER(TensorInfo)]),
    'kiln_model_print': (c_int, [c_void_p, c_uint, POINTER(c_void_p)]),
    'kiln_model_verify': (c_int, [c_void_p]),
    'kiln_model_optimize': (c_int, [c_void_p, c_char_p, c_char_p]),
    'kiln_pass_info': (c_int, [c_int, POINTER(c_char_p), POINTER(c_char_p)]),
    'kiln_model_evaluate': (c_int, [c_void_p, POINTER(c_void_p), POINTER(c_void_p)]),
    'kiln_model_emit': (c_int, [c_void_p, c_char_p, c_int, POINTER(c_void_p), POINTER(c_size_t)]),
    'kiln_model_compile': (c_int, [c_void_p, c_char_p, c_char_p, c_char_p]),
    'kiln_model_jit': (c_int, [c_void_p, POINTER(c_void_p)]),
    'kiln_executable_open': (c_int, [c_void_p, c_char_p, POINTER(c_void_p)]),
    'kiln_executable_destroy': (None, [c_void_p]),
    'kiln_executable_name': (c_char_p, [c_void_p]),
    'kiln_executable_num_inputs': (c_int, [c_void_p]),
    'kiln_executable_num_outputs': (c_int, [c_void_p]),
    'kiln_executable_input': (c_int, [c_void_p, c_int, POINTER(TensorInfo)]),
    'kiln_executable_output': (c_int, [c_void_p, c_int, POINTER(TensorInfo)]),
    'kiln_executable_workspace_size': (c_size_t, [c_void_p]),
    'kiln_executable_set_num_threads': (None, [c_void_p, c_int]),
    'kiln_executable_num_threads': (c_int, [c_void_p]),
    'kiln_executable_run': (c_int, [c_void_p, POINTER(c_void_p), POINTER(c_void_p), c_void_p]),
    'kiln_executable_num_symbols': (c_int, [c_void_p]),
    'kiln_executable_symbol': (c_int, [c_void_p, c_int, POINTER(c_char_p), POINTER(ctypes.c_int64)]),
    'kiln_executable_symbol_is_computed': (c_int, [c_void_p, c_int]),
    'kiln_executable_input_shape': (c_char_p, [c_void_p, c_int]),
    'kiln_executable_output_shape': (c_char_p, [c_void_p, c_int]),
    'kiln_executable_run_shaped': (c_int, [c_void_p, POINTER(c_void_p), POINTER(TensorInfo), POINTER(c_void_p),
                                           POINTER(POINTER(ctypes.c_int64)), c_void_p, c_void_p]),
    'kiln_model_evaluate_shaped': (c_int, [c_void_p, POINTER(c_void_p), POINTER(c_void_p),
                                           POINTER(POINTER(ctypes.c_int64))]),
}


def _candidates():
    env = os.environ.get('KILN_LIBRARY')
    if env:
        # An explicit choice is the only one: falling back to another copy
        # would hide a typo in the path.
        return [env], 'KILN_LIBRARY=' + env
    found = []
    try:
        from . import _config
        here = os.path.dirname(os.path.abspath(__file__))
        found.append(_config.BUILD_LIBRARY if os.path.realpath(here) == os.path.realpath(_config.BUILD_PACKAGE_DIR)
                     else _config.INSTALLED_LIBRARY)
    except ImportError:
        pass  # a package without Meson's _config.py (python/kiln in the source tree)
    found.append('libkiln.so.0')
    return found, ', '.join(found)


def _load():
    paths, tried = _candidates()
    errors = []
    for p in paths:
        try:
            return ctypes.CDLL(p)
        except OSError as e:
            errors.append(str(e))
    raise ImportError('kiln: cannot load libkiln (tried %s): %s. Set KILN_LIBRARY to the path of libkiln.so '
                      '(e.g. BUILD/api/libkiln.so), use the package Meson puts in BUILD/python, or meson install.'
                      % (tried, '; '.join(errors)))


lib = _load()
for _name, (_res, _args) in _SIGNATURES.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args
del _name, _res, _args, _f

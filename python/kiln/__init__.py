"""kiln from Python: compile a model (ONNX or kiln IR text) and run it on
NumPy arrays; inspect and optimise a model, run the reference interpreter,
write an ahead-of-time shared object. Pure Python over libkiln with ctypes
(see _lib.py for how the library is found); docs/python.md is the reference.

    import kiln, numpy as np
    exe = kiln.compile("examples/jit/mlp.onnx")
    probs = exe(np.ones((2, 64), np.float32))

Ownership: every Python object owns one C handle (a context, a model, an
executable) and destroys it in close(), on leaving a `with` block, or when
it is garbage-collected; an object never refers back to itself through a C
callback, so dropping the last reference frees the handle at once.

Threads: an Executable may be called from many threads at once (libkiln's
concurrency rule; ctypes releases the GIL during the run, so the calls
really overlap). A Model is used by one thread at a time: its methods take
a lock. Array shapes and types are checked here, before anything reaches C.
"""
import collections
import collections.abc
import os
import threading

import numpy as np

from . import _lib
from ._lib import lib

__all__ = ['Error', 'Executable', 'Model', 'OptimizeReport', 'Symbol', 'TensorSpec', 'compile', 'load', 'import_onnx',
           'parse_ir', 'passes', 'version', 'bf16_to_float32', 'float32_to_bf16']

# kiln_status codes (kiln.h)
_OK, _INVALID, _IO, _SHAPE = 0, 1, 2, 5
# kiln_diag_level
_DIAG_ERROR, _DIAG_REMARK = 0, 3
# kiln_dtype -> NumPy dtype. bf16 has no NumPy type: its arrays are uint16
# holding the raw bits (float32_to_bf16 / bf16_to_float32 convert).
_BF16 = 10
_DTYPES = {0: np.bool_, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.int64, 5: np.uint8, 6: np.uint16,
           7: np.uint32, 8: np.uint64, 9: np.float16, _BF16: np.uint16, 11: np.float32, 12: np.float64}
_EMIT_KINDS = {'ir': 0, 'llvm': 1, 'asm': 2, 'object': 3, 'header': 4}


def version():
    """libkiln's version string, e.g. "0.1.0"."""
    return lib.kiln_version().decode()


class Error(Exception):
    """A failure reported by kiln, or an argument refused before reaching
    it. Attributes: message (kiln's message), status (the status name, as
    kiln_status_name gives it: "parse error", "shape error", ...), code
    (the kiln_status number) and diagnostics (every error diagnostic of
    the failed call, in order; the message joins them)."""

    def __init__(self, message, code=_INVALID, diagnostics=()):
        self.message = message
        self.code = code
        self.status = lib.kiln_status_name(code).decode()
        self.diagnostics = list(diagnostics)
        super().__init__('%s: %s' % (self.status, message))


TensorSpec = collections.namedtuple('TensorSpec', 'name dtype shape kiln_dtype')
Symbol = collections.namedtuple('Symbol', 'name bound computed')
Symbol.__doc__ = """A symbolic dimension of an Executable: its name, its bound, and whether
the run computes it from values (NonZero's count; 0..bound) rather than
reading it off the inputs' shapes (1..bound)."""
TensorSpec.__doc__ = """An input or output: name, dtype (a NumPy dtype; uint16 for bf16), shape
(a tuple of ints) and kiln_dtype (kiln's name for the type: "f32", "bf16", ...)."""

OptimizeReport = collections.namedtuple('OptimizeReport', 'dumps remarks')
OptimizeReport.__doc__ = """What Model.optimize collected: dumps, a list of (pass name, IR text)
after each pass asked for, and remarks, the optimisation remarks as strings."""


def passes():
    """The passes of the default pipeline, in order: a list of (name, summary)."""
    out, i = [], 0
    name, summary = _lib.c_char_p(), _lib.c_char_p()
    while lib.kiln_pass_info(i, _lib.ctypes.byref(name), _lib.ctypes.byref(summary)) == _OK:
        out.append((name.value.decode(), summary.value.decode()))
        i += 1
    return out


def _spec(info):
    shape = tuple(info.dims[i] for i in range(info.rank))
    return TensorSpec(info.name.decode(), np.dtype(_DTYPES[info.dtype]), shape,
                      lib.kiln_dtype_name(info.dtype).decode())


def _specs(handle, count, get):
    out = []
    for i in range(count(handle)):
        info = _lib.TensorInfo()
        if get(handle, i, _lib.ctypes.byref(info)) != _OK:
            raise Error('cannot read the description of tensor %d' % i)
        out.append(_spec(info))
    return out


def _names(specs):
    return ', '.join(s.name for s in specs) or 'none'


def _shape_text(spec):
    return '%s[%s]' % (spec.kiln_dtype, ','.join(str(d) for d in spec.shape))


def float32_to_bf16(a):
    """The bf16 bits (uint16) of float array `a`, rounded to nearest even."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    nan = np.isnan(bits.view(np.float32))
    rounded = ((bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16))
    return np.where(nan, np.uint32(0x7FC0), rounded).astype(np.uint16)


def bf16_to_float32(a):
    """The float32 values of bf16 bits `a` (a uint16 array), exactly."""
    return (np.asarray(a, dtype=np.uint16).astype(np.uint32) << np.uint32(16)).view(np.float32)


def _prepare(spec, value, what, any_shape=False):
    """`value` as a dense, aligned array of spec's type and shape, or Error.
    The type follows NumPy's same_kind rule (float64 -> float32 is fine,
    float -> int is refused); the shape must match exactly, or (any_shape:
    a symbolic executable, whose run checks the dimensions) the rank."""
    a = np.asarray(value)
    if spec.kiln_dtype == 'bf16' and a.dtype.kind == 'f':
        a = float32_to_bf16(a)
    elif a.dtype != spec.dtype and not np.can_cast(a.dtype, spec.dtype, casting='same_kind'):
        raise Error('%s %r: an array of %s cannot be converted to %s (the model wants %s)'
                    % (what, spec.name, a.dtype, spec.dtype, _shape_text(spec)), _SHAPE)
    want = spec.shape
    if any_shape and a.ndim == len(spec.shape):
        want = tuple(a.shape)
    if tuple(a.shape) != want:
        raise Error('%s %r: shape %s does not match the model\'s %s'
                    % (what, spec.name, tuple(a.shape), _shape_text(spec)), _SHAPE)
    a = np.require(a, dtype=spec.dtype, requirements=['C', 'A'])
    if a.shape != want:  # np.require may turn a 0-d array into a 1-d one
        a = a.reshape(want)
    return a


def _positional(specs, args, any_shape=False):
    if len(args) != len(specs):
        raise Error('expected %d input%s (%s), got %d' % (len(specs), '' if len(specs) == 1 else 's',
                                                         _names(specs), len(args)))
    return [_prepare(s, v, 'input', any_shape) for s, v in zip(specs, args)]


def _from_dict(specs, feeds, any_shape=False):
    if not isinstance(feeds, collections.abc.Mapping):
        raise Error('expected a dict of input name -> array, got %s' % type(feeds).__name__)
    known = {s.name for s in specs}
    extra = [k for k in feeds if k not in known]
    if extra:
        raise Error('no input named %s (inputs: %s)' % (', '.join(repr(k) for k in extra), _names(specs)))
    missing = [s.name for s in specs if s.name not in feeds]
    if missing:
        raise Error('missing input%s %s' % ('' if len(missing) == 1 else 's', ', '.join(repr(m) for m in missing)))
    return [_prepare(s, feeds[s.name], 'input', any_shape) for s in specs]


def _pointers(arrays):
    return (_lib.c_void_p * max(len(arrays), 1))(*[a.ctypes.data for a in arrays])


def _dim_buffers(specs):
    """One int64 array per output for the actual dimensions a run reports,
    and the C array of pointers to them."""
    dims = [np.zeros(max(len(s.shape), 1), np.int64) for s in specs]
    ptr = _lib.POINTER(_lib.ctypes.c_int64)
    return dims, (ptr * max(len(dims), 1))(*[d.ctypes.data_as(ptr) for d in dims])


def _cut(outs, specs, dims):
    """Each output buffer (sized for the bounds) as the dense array at the
    dimensions the run reported."""
    res = []
    for a, s, d in zip(outs, specs, dims):
        shape = tuple(int(x) for x in d[:len(s.shape)])
        res.append(a.reshape(-1)[:int(np.prod(shape, dtype=np.int64))].reshape(shape) if shape != s.shape else a)
    return res


def _as_tuple_or_one(outs):
    return outs[0] if len(outs) == 1 else tuple(outs)


def _text(x):
    return None if x is None else (','.join(x) if not isinstance(x, str) else x).encode()


class _Context:
    """A kiln_context with its diagnostics collected into a list (cleared
    at each call) and the options of kiln.compile applied. Its methods are
    used under its lock: a context serves one thread at a time."""

    def __init__(self, target=None, cpu=None, features=None, threads=None, opt_level=None, input_shapes=None,
                 max_shapes=None):
        self.handle = None
        self.lock = threading.RLock()
        self.diagnostics = []
        h = _lib.c_void_p()
        st = lib.kiln_context_create(_lib.ctypes.byref(h))
        if st != _OK:
            raise Error('cannot create a kiln context', st)
        self.handle = h
        diags = self.diagnostics  # the callback holds the list, never self

        def on_diag(_user, level, message):
            diags.append((level, message.decode(errors='replace')))
        self._diag_fn = _lib.DIAG_FN(on_diag)
        lib.kiln_context_set_diagnostics(h, self._diag_fn, None)
        try:
            self._configure(target, cpu, features, threads, opt_level, input_shapes, max_shapes)
        except BaseException:
            self.close()
            raise

    def _configure(self, target, cpu, features, threads, opt_level, input_shapes, max_shapes):
        h = self.handle
        if target is not None or cpu is not None or features is not None:
            self.check(lib.kiln_context_set_target(h, _text(target), _text(cpu), _text(features)))
        if threads is not None:
            self.check(lib.kiln_context_set_num_threads(h, int(threads)))
        if opt_level is not None:
            self.check(lib.kiln_context_set_opt_level(h, int(opt_level)))
        for name, dims in (input_shapes or {}).items():
            dims = [int(d) for d in dims]
            arr = (_lib.ctypes.c_int64 * max(len(dims), 1))(*dims)
            self.check(lib.kiln_context_bind_input_shape(h, name.encode(), len(dims), arr))
        for name, dims in (max_shapes or {}).items():
            dims = [int(d) for d in dims]
            arr = (_lib.ctypes.c_int64 * max(len(dims), 1))(*dims)
            self.check(lib.kiln_context_bound_input_shape(h, name.encode(), len(dims), arr))

    def begin(self):
        del self.diagnostics[:]

    def check(self, status):
        """Raises Error for a failed status, with the call's error diagnostics."""
        if status == _OK:
            return
        errors = [m for level, m in self.diagnostics if level == _DIAG_ERROR]
        msg = '\n'.join(errors) or lib.kiln_context_last_error(self.handle).decode(errors='replace') or 'failed'
        raise Error(msg, status, errors)

    def close(self):
        if self.handle and lib is not None:
            lib.kiln_context_destroy(self.handle)
            self.handle = None

    def __del__(self):
        self.close()


def _load_model(ctx, model, onnx_only=False):
    """A kiln_model handle from a path (str or PathLike) or ONNX bytes."""
    h = _lib.c_void_p()
    ctx.begin()
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
        ctx.check(lib.kiln_model_from_onnx_bytes(ctx.handle, data, len(data), _lib.ctypes.byref(h)))
    elif isinstance(model, (str, os.PathLike)):
        load = lib.kiln_model_load_onnx if onnx_only else lib.kiln_model_load_file
        ctx.check(load(ctx.handle, os.fsencode(model), _lib.ctypes.byref(h)))
    else:
        raise Error('a model is a path (str or os.PathLike) or ONNX bytes, not %s' % type(model).__name__)
    return h


class Executable:
    """Compiled code (JIT'd in this process, or a shared object made by
    Model.compile_so and opened with kiln.load).

    exe(x, ...) takes the inputs in order and returns the output array, or
    a tuple of arrays when the model has several outputs; exe.run({name:
    array}) returns a dict name -> array. Inputs are converted to the input's
    dtype (NumPy's same_kind rule) and made contiguous; a wrong shape or
    type raises Error before anything runs. Any number of threads may call
    one executable at once.

    An executable with symbolic dimensions (exe.symbols; compiled with
    input_shapes bounds, kiln compile --max-shape) takes inputs of any
    shape within the bounds (the run checks them and raises Error saying
    why not) and returns each output at its actual shape, including sizes
    the run computes from values (NonZero's count)."""

    def __init__(self, handle):
        self._handle = handle
        self._cond = threading.Condition()
        self._running = 0
        self._closing = False
        self.inputs = _specs(handle, lib.kiln_executable_num_inputs, lib.kiln_executable_input)
        self.outputs = _specs(handle, lib.kiln_executable_num_outputs, lib.kiln_executable_output)
        self.name = lib.kiln_executable_name(handle).decode()
        self.symbols = []
        for k in range(lib.kiln_executable_num_symbols(handle)):
            name, bound = _lib.c_char_p(), _lib.ctypes.c_int64()
            lib.kiln_executable_symbol(handle, k, _lib.ctypes.byref(name), _lib.ctypes.byref(bound))
            self.symbols.append(Symbol(name.value.decode(), bound.value,
                                       bool(lib.kiln_executable_symbol_is_computed(handle, k))))

    def __repr__(self):
        return '<kiln.Executable %s (%s) -> (%s)%s>' % (
            self.name, ', '.join('%s: %s' % (s.name, _shape_text(s)) for s in self.inputs),
            ', '.join('%s: %s' % (s.name, _shape_text(s)) for s in self.outputs), '' if self._handle else ' closed')

    @property
    def num_threads(self):
        """Threads for parallel loops, the calling thread included; set it
        to n (n <= 0: one per core) at any time."""
        return lib.kiln_executable_num_threads(self._live())

    @num_threads.setter
    def num_threads(self, n):
        lib.kiln_executable_set_num_threads(self._live(), int(n))

    @property
    def workspace_size(self):
        """Bytes of scratch memory a run allocates."""
        return lib.kiln_executable_workspace_size(self._live())

    def _live(self):
        if not self._handle or self._closing:
            raise Error('the executable is closed')
        return self._handle

    def _run(self, arrays):
        outs = [np.empty(s.shape, s.dtype) for s in self.outputs]
        with self._cond:
            h = self._live()
            self._running += 1
        errors = None
        try:
            if self.symbols:
                # At the arrays' own shapes: the run checks them against the
                # bounds and reports the outputs' dimensions; a context of
                # this call's own records why it refused.
                infos = (_lib.TensorInfo * max(len(arrays), 1))()
                for i, (a, s) in enumerate(zip(arrays, self.inputs)):
                    infos[i].name = s.name.encode()
                    infos[i].rank = a.ndim
                    infos[i].dims = (_lib.ctypes.c_int64 * max(a.ndim, 1))(*a.shape)
                dims, dptr = _dim_buffers(self.outputs)
                errors = _lib.c_void_p()
                if lib.kiln_context_create(_lib.ctypes.byref(errors)) != _OK:
                    errors = _lib.c_void_p()
                st = lib.kiln_executable_run_shaped(h, _pointers(arrays), infos, _pointers(outs), dptr, None, errors)
            else:
                st = lib.kiln_executable_run(h, _pointers(arrays), _pointers(outs), None)
            if st != _OK:
                msg = lib.kiln_context_last_error(errors).decode() if errors else ''
                # A plain run records no message (kiln.h): the status is all there is.
                raise Error('running %s failed%s' % (self.name, ': ' + msg if msg else ''), st)
        finally:
            if errors:
                lib.kiln_context_destroy(errors)
            with self._cond:
                self._running -= 1
                self._cond.notify_all()
        return _cut(outs, self.outputs, dims) if self.symbols else outs

    def __call__(self, *inputs):
        return _as_tuple_or_one(self._run(_positional(self.inputs, inputs, bool(self.symbols))))

    def run(self, feeds):
        outs = self._run(_from_dict(self.inputs, feeds, bool(self.symbols)))
        return {s.name: a for s, a in zip(self.outputs, outs)}

    def close(self):
        """Destroys the executable (joins its thread pool, or unloads the
        .so), after waiting for the runs in progress; closing twice is fine."""
        with self._cond:
            # Refuse new runs first: threads that keep calling would
            # otherwise hold _running above 0 for ever.
            self._closing = True
            while self._running:
                self._cond.wait()
            h, self._handle = self._handle, None
        if h:
            lib.kiln_executable_destroy(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # At interpreter exit the module's globals may already be gone.
        if getattr(self, '_handle', None) and lib is not None:
            lib.kiln_executable_destroy(self._handle)
            self._handle = None


class Model:
    """A model in kiln's IR (imported from ONNX, or parsed from IR text),
    with its own context (the options given when it was made apply to its
    optimisation and compilation). Use one Model from one thread at a time
    (its methods take a lock, so misuse waits rather than corrupts)."""

    def __init__(self, ctx, handle):
        self._ctx = ctx
        self._handle = handle

    def _live(self):
        if not self._handle:
            raise Error('the model is closed')
        self._ctx.begin()
        return self._handle

    @property
    def inputs(self):
        with self._ctx.lock:
            return _specs(self._live(), lib.kiln_model_num_inputs, lib.kiln_model_input)

    @property
    def outputs(self):
        with self._ctx.lock:
            return _specs(self._live(), lib.kiln_model_num_outputs, lib.kiln_model_output)

    @property
    def diagnostics(self):
        """(level, message) of every diagnostic of the last call: level 0
        error, 1 warning, 2 note, 3 remark."""
        return list(self._ctx.diagnostics)

    def ir_text(self, elide_constants=False):
        """The IR as text (constants over 16 elements as {...} with
        elide_constants)."""
        with self._ctx.lock:
            p = _lib.c_void_p()
            self._ctx.check(lib.kiln_model_print(self._live(), 1 if elide_constants else 0, _lib.ctypes.byref(p)))
            try:
                return _lib.ctypes.string_at(p).decode()
            finally:
                lib.kiln_free(p)

    def verify(self):
        """Checks the IR's invariants; Error names the instruction and rule."""
        with self._ctx.lock:
            self._ctx.check(lib.kiln_model_verify(self._live()))

    def optimize(self, passes=None, disable=None, dump_after=None, remarks=False):
        """Runs the pass pipeline (passes: None for the default, or names as
        a list or a comma-separated string; disable: passes to skip). With
        dump_after ("all" or pass names) the IR after each matching pass is
        collected; with remarks, the optimisation remarks. Returns an
        OptimizeReport(dumps=[(pass, ir_text)], remarks=[str])."""
        dumps = []

        def on_dump(_user, name, text):
            dumps.append((name.decode(), text.decode()))
        dump_fn = _lib.DUMP_FN(on_dump)
        with self._ctx.lock:
            h, c = self._live(), self._ctx.handle
            if dump_after is not None:
                lib.kiln_context_set_ir_dump(c, _text(dump_after), dump_fn, None)
            lib.kiln_context_set_remarks(c, 1 if remarks else 0)
            try:
                st = lib.kiln_model_optimize(h, _text(passes), _text(disable))
            finally:
                lib.kiln_context_set_ir_dump(c, None, _lib.DUMP_FN(), None)
                lib.kiln_context_set_remarks(c, 0)
            self._ctx.check(st)
            notes = [m for level, m in self._ctx.diagnostics if level == _DIAG_REMARK]
        return OptimizeReport(dumps, notes)

    def evaluate(self, *inputs):
        """Runs the model in kiln's reference interpreter. Like an
        Executable: evaluate(x, ...) returns the output (a tuple for several);
        evaluate({name: array}) returns a dict name -> array."""
        specs, outs_spec = self.inputs, self.outputs
        as_dict = len(inputs) == 1 and isinstance(inputs[0], collections.abc.Mapping)
        arrays = _from_dict(specs, inputs[0]) if as_dict else _positional(specs, inputs)
        outs = [np.empty(s.shape, s.dtype) for s in outs_spec]
        dims, dptr = _dim_buffers(outs_spec)
        with self._ctx.lock:
            self._ctx.check(lib.kiln_model_evaluate_shaped(self._live(), _pointers(arrays), _pointers(outs), dptr))
        # Sizes that values decide (NonZero, ...): the actual dimensions.
        outs = _cut(outs, outs_spec, dims)
        if as_dict:
            return {s.name: a for s, a in zip(outs_spec, outs)}
        return _as_tuple_or_one(outs)

    def emit(self, kind='llvm', name=None):
        """One stage of compiling the model: 'ir', 'llvm', 'asm', 'header'
        (str) or 'object' (bytes)."""
        if kind not in _EMIT_KINDS:
            raise Error('unknown emit kind %r (one of %s)' % (kind, ', '.join(_EMIT_KINDS)))
        with self._ctx.lock:
            p, n = _lib.c_void_p(), _lib.c_size_t()
            self._ctx.check(lib.kiln_model_emit(self._live(), _text(name), _EMIT_KINDS[kind], _lib.ctypes.byref(p),
                                                _lib.ctypes.byref(n)))
            try:
                data = _lib.ctypes.string_at(p, n.value)
            finally:
                lib.kiln_free(p)
        return data if kind == 'object' else data.decode()

    def compile_so(self, path, header=None, name=None):
        """Compiles the model ahead of time into the shared object `path`
        (and its C header at `header`, if given); `name` is the artifact's C
        identifier (default: from the model). Returns path; kiln.load(path)
        runs it."""
        with self._ctx.lock:
            self._ctx.check(lib.kiln_model_compile(self._live(), _text(name), os.fsencode(path),
                                                   None if header is None else os.fsencode(header)))
        return path

    def jit(self):
        """Compiles the model as it is (call optimize() first for the pass
        pipeline) for this machine and returns an Executable."""
        with self._ctx.lock:
            out = _lib.c_void_p()
            self._ctx.check(lib.kiln_model_jit(self._live(), _lib.ctypes.byref(out)))
        return Executable(out)

    def close(self):
        """Destroys the model and its context; closing twice is fine."""
        with self._ctx.lock:
            h, self._handle = self._handle, None
            if h:
                lib.kiln_model_destroy(h)
            self._ctx.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        h = getattr(self, '_handle', None)
        if lib is None:
            return
        if h:
            lib.kiln_model_destroy(h)
            self._handle = None
        ctx = getattr(self, '_ctx', None)
        if ctx is not None:
            ctx.close()


def _new_model(ctx, load):
    try:
        return Model(ctx, load())
    except BaseException:
        ctx.close()
        raise


def import_onnx(model, input_shapes=None, target=None, cpu=None, features=None, threads=None, opt_level=None,
                max_shapes=None):
    """Imports an ONNX model (a path, whatever its name ends with, or the
    model's bytes) into a Model. input_shapes binds symbolic dimensions:
    {"x": (1, 3, 224, 224)}; max_shapes bounds them (as for kiln.compile).
    target/cpu/features, threads and opt_level are the options its
    compilation uses (as for kiln.compile)."""
    ctx = _Context(target, cpu, features, threads, opt_level, input_shapes, max_shapes)
    return _new_model(ctx, lambda: _load_model(ctx, model, onnx_only=True))


def parse_ir(text, file=None, target=None, cpu=None, features=None, threads=None, opt_level=None):
    """Parses kiln IR text (docs/ir.md) into a Model; `file` names it in
    messages."""
    ctx = _Context(target, cpu, features, threads, opt_level)
    data = text.encode() if isinstance(text, str) else bytes(text)

    def load():
        h = _lib.c_void_p()
        ctx.begin()
        ctx.check(lib.kiln_model_from_kir(ctx.handle, data, len(data), _text(file), _lib.ctypes.byref(h)))
        return h
    return _new_model(ctx, load)


def compile(model, input_shapes=None, target=None, cpu=None, threads=None, opt_level=None, passes=None,
            features=None, max_shapes=None):
    """Loads, optimises and JIT-compiles a model for this machine.

    model: a path (str or os.PathLike; ".onnx" is read as ONNX, anything
    else as kiln IR text, as libkiln does) or ONNX bytes. input_shapes
    binds symbolic dimensions by input name: {"x": (8, 64)}; max_shapes
    bounds them instead (kiln compile --max-shape): {"x": (64, 64)} compiles
    once for any batch up to 64 (Executable.symbols). target, cpu,
    features: the code generation target (default: this machine; the JIT
    refuses a cross target). threads: threads for parallel loops (default:
    one per core). opt_level: LLVM's 0..3 (default 3). passes: the pass
    pipeline (None: the default one; a list or comma-separated names).
    Returns an Executable; raises Error with kiln's message."""
    ctx = _Context(target, cpu, features, threads, opt_level, input_shapes, max_shapes)
    try:
        with ctx.lock:
            h = _load_model(ctx, model)
            try:
                ctx.begin()
                ctx.check(lib.kiln_model_optimize(h, _text(passes), None))
                out = _lib.c_void_p()
                ctx.begin()
                ctx.check(lib.kiln_model_jit(h, _lib.ctypes.byref(out)))
            finally:
                lib.kiln_model_destroy(h)
        return Executable(out)
    finally:
        ctx.close()


def load(path, threads=None):
    """Opens a shared object made by Model.compile_so (or `kiln compile`)
    and returns an Executable; threads as for compile."""
    ctx = _Context(threads=threads)
    try:
        out = _lib.c_void_p()
        ctx.begin()
        ctx.check(lib.kiln_executable_open(ctx.handle, os.fsencode(path), _lib.ctypes.byref(out)))
        return Executable(out)
    finally:
        ctx.close()

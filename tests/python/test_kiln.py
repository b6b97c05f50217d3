"""The Python package kiln: compile and run the example model (JIT and a
.so), compare with the interpreter and with NumPy, metadata, errors
(kiln.Error with kiln's message), pass dumps and remarks."""
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import kiln
from conftest import ROOT, mlp_reference

# The JIT and the interpreter differ in summation order and exp's
# approximation; softmax outputs are ~0.1, so this is far above that noise
# and far below any real error.
TOL = dict(rtol=1e-5, atol=1e-6)


def test_compile_matches_numpy_and_interpreter(mlp_path, x):
    exe = kiln.compile(mlp_path)
    probs = exe(x)
    assert isinstance(probs, np.ndarray) and probs.dtype == np.float32 and probs.shape == (2, 10)
    np.testing.assert_allclose(probs, mlp_reference(x), **TOL)
    with kiln.import_onnx(mlp_path) as m:
        np.testing.assert_allclose(probs, m.evaluate(x), **TOL)
        # The interpreter's dict form gives the same values by name.
        np.testing.assert_array_equal(m.evaluate({'x': x})['probs'], m.evaluate(x))
    # run() is the same computation, by name.
    np.testing.assert_array_equal(exe.run({'x': x})['probs'], probs)


def test_inputs_are_converted(mlp_path, x):
    exe = kiln.compile(mlp_path, threads=1)
    want = exe(x)
    # float64, Fortran order, a non-contiguous view: converted, same answer.
    np.testing.assert_array_equal(exe(x.astype(np.float64)), want)
    np.testing.assert_array_equal(exe(np.asfortranarray(x)), want)
    wide = np.zeros((2, 128), np.float32)
    wide[:, ::2] = x
    np.testing.assert_array_equal(exe(wide[:, ::2]), want)
    np.testing.assert_array_equal(exe(x.tolist()), want)


def test_bytes_and_pathlike(mlp_path, x):
    data = pathlib.Path(mlp_path).read_bytes()
    a = kiln.compile(data)(x)
    b = kiln.compile(pathlib.Path(mlp_path))(x)
    np.testing.assert_array_equal(a, b)
    with kiln.import_onnx(data) as m:
        assert [s.name for s in m.inputs] == ['x']


def test_metadata(mlp_path):
    exe = kiln.compile(mlp_path, threads=2)
    assert exe.inputs == [kiln.TensorSpec('x', np.dtype(np.float32), (2, 64), 'f32')]
    assert exe.outputs == [kiln.TensorSpec('probs', np.dtype(np.float32), (2, 10), 'f32')]
    assert exe.num_threads == 2
    exe.num_threads = 1
    assert exe.num_threads == 1
    assert 'x: f32[2,64]' in repr(exe)
    m = kiln.import_onnx(mlp_path)
    assert m.inputs == exe.inputs and m.outputs == exe.outputs
    assert kiln.version() == '0.1.0' or kiln.version().count('.') == 2


def test_aot_so_matches_jit(mlp_path, x, tmp_path):
    m = kiln.import_onnx(mlp_path)
    m.optimize()
    so = str(tmp_path / 'libmlp.so')
    h = str(tmp_path / 'mlp.h')
    assert m.compile_so(so, header=h, name='mlp') == so
    assert 'kiln_mlp_run' in open(h).read()
    jit = m.jit()
    aot = kiln.load(so)
    assert aot.name == 'mlp'
    assert aot.inputs == jit.inputs and aot.outputs == jit.outputs
    np.testing.assert_allclose(aot(x), jit(x), **TOL)
    np.testing.assert_allclose(aot(x), mlp_reference(x), **TOL)
    aot.close()
    aot.close()  # twice is fine
    with pytest.raises(kiln.Error, match='closed'):
        aot(x)


def test_wrong_shape_and_dtype_never_reach_c(mlp_path, x):
    exe = kiln.compile(mlp_path)
    with pytest.raises(kiln.Error, match=r"input 'x': shape \(3, 64\) does not match the model's f32\[2,64\]") as e:
        exe(np.zeros((3, 64), np.float32))
    assert e.value.status == 'shape error'
    with pytest.raises(kiln.Error, match=r'shape \(128,\)'):
        exe(x.reshape(-1))
    with pytest.raises(kiln.Error, match='complex128 cannot be converted to float32'):
        exe(x.astype(np.complex128))
    with pytest.raises(kiln.Error, match=r'expected 1 input \(x\), got 2'):
        exe(x, x)
    with pytest.raises(kiln.Error, match="missing input 'x'"):
        exe.run({})
    with pytest.raises(kiln.Error, match=r"no input named 'y' \(inputs: x\)"):
        exe.run({'x': x, 'y': x})
    with pytest.raises(kiln.Error, match='shape'):
        kiln.import_onnx(mlp_path).evaluate(np.zeros((2, 63), np.float32))


def test_int_inputs_refuse_floats():
    # An i32 input: float data would be truncated silently, so it is refused.
    m = kiln.parse_ir('module addone\n\nENTRY %main outputs={"r"} {\n'
                      '  %a = i32[3] parameter(0), io_name="a"\n'
                      '  %one = i32[] constant(1)\n'
                      '  %oneb = i32[3] broadcast(%one), dimensions={}\n'
                      '  %r = i32[3] add(%a, %oneb)\n'
                      '  ROOT %t = (i32[3]) tuple(%r)\n}\n')
    assert m.inputs[0].dtype == np.int32
    np.testing.assert_array_equal(m.evaluate(np.array([1, 2, 3])), [2, 3, 4])  # int64 -> int32
    with pytest.raises(kiln.Error, match='float64 cannot be converted to int32'):
        m.evaluate(np.array([1.5, 2, 3]))
    exe = m.jit()
    np.testing.assert_array_equal(exe(np.array([7, 8, 9], np.int32)), [8, 9, 10])


def test_errors_carry_kiln_message(tmp_path):
    missing = str(tmp_path / 'nope.onnx')
    with pytest.raises(kiln.Error) as e:
        kiln.compile(missing)
    assert e.value.status == 'i/o error' and 'nope.onnx' in e.value.message
    assert str(e.value).startswith('i/o error: ')
    with pytest.raises(kiln.Error) as e:
        kiln.compile(b'this is not an ONNX model')
    assert e.value.status == 'parse error' and e.value.message
    bad = tmp_path / 'bad.kir'
    bad.write_text('module bad\n\nENTRY %main {\n  %a = f32[2] frobnicate()\n}\n')
    with pytest.raises(kiln.Error) as e:
        kiln.compile(str(bad))
    assert e.value.status == 'parse error' and 'frobnicate' in e.value.message and 'bad.kir' in e.value.message
    assert e.value.diagnostics and e.value.diagnostics[0] in e.value.message
    with pytest.raises(kiln.Error, match='i/o error'):
        kiln.load(str(tmp_path / 'missing.so'))
    with pytest.raises(kiln.Error, match='a model is a path'):
        kiln.compile(42)
    assert issubclass(kiln.Error, Exception)


def test_unknown_pass_and_cpu_are_errors(mlp_path):
    with pytest.raises(kiln.Error, match='no-such-pass'):
        kiln.compile(mlp_path, passes='no-such-pass')
    with pytest.raises(kiln.Error, match='no-such-cpu'):
        kiln.compile(mlp_path, cpu='no-such-cpu')
    with pytest.raises(kiln.Error) as e:
        kiln.compile(mlp_path, opt_level=7)
    assert e.value.status == 'invalid argument' and e.value.message
    with pytest.raises(kiln.Error, match='negative'):
        kiln.compile(mlp_path, input_shapes={'x': (2, -1)})


def test_ir_text_and_emit(mlp_path):
    m = kiln.import_onnx(mlp_path)
    text = m.ir_text()
    assert text.startswith('module ') and 'parameter(0)' in text and 'io_name="x"' in text
    short = m.ir_text(elide_constants=True)
    assert '{...}' in short and len(short) < len(text)
    # The text round-trips through parse_ir.
    assert kiln.parse_ir(text).ir_text() == text
    m.optimize()
    assert 'define' in m.emit('llvm')
    assert m.emit('object')[:4] == b'\x7fELF'
    with pytest.raises(kiln.Error, match='unknown emit kind'):
        m.emit('pdf')


def test_pass_dumps_and_remarks(mlp_path):
    names = [n for n, _ in kiln.passes()]
    assert names, 'the default pipeline has passes'
    m = kiln.import_onnx(mlp_path)
    report = m.optimize(dump_after='all', remarks=True)
    assert report.dumps, 'dump_after=all collects a dump per pass'
    for name, text in report.dumps:
        assert name in names and text.startswith('module ')
    assert report.dumps[-1][1] == m.ir_text()
    assert report.remarks and all(isinstance(r, str) and r for r in report.remarks)
    # Each remark starts with the pass that made it ("fuse: ... fused into
    # the epilogue of ..."); the fusion pass reports on this model.
    assert any(r.startswith('fuse: ') and 'fused' in r for r in report.remarks), report.remarks
    assert all(r.split(':')[0] in names + ['target'] for r in report.remarks), report.remarks
    # Only the named passes are dumped; off again afterwards.
    m2 = kiln.import_onnx(mlp_path)
    first = names[0]
    r2 = m2.optimize(dump_after=[first])
    assert [n for n, _ in r2.dumps] == [first] and r2.remarks == []
    assert m2.optimize().dumps == []


def test_input_shapes_bind_symbolic_dims(tmp_path):
    pytest.importorskip('onnx', reason='python3-onnx is needed to build a model with a symbolic dimension')
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node('Relu', ['x'], ['y'], name='relu')], 'g',
                          [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', 4])],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['batch', 4])])
    data = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]).SerializeToString()
    with pytest.raises(kiln.Error, match='batch'):
        kiln.compile(data)
    exe = kiln.compile(data, input_shapes={'x': (3, 4)})
    assert exe.inputs[0].shape == (3, 4)
    v = np.arange(-6, 6, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(exe(v), np.maximum(v, 0))


def test_max_shapes_compile_once_run_any_batch(tmp_path):
    pytest.importorskip('onnx', reason='python3-onnx is needed to build a model with a symbolic dimension')
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node('Relu', ['x'], ['r']), helper.make_node('ReduceSum', ['r'], ['y'],
                                                                                        keepdims=0, axes=[1])], 'g',
                          [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', 4])],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['batch'])])
    data = helper.make_model(g, opset_imports=[helper.make_opsetid('', 12)]).SerializeToString()
    exe = kiln.compile(data, max_shapes={'x': (8, 4)})
    assert [(s.name, s.bound, s.computed) for s in exe.symbols] == [('batch', 8, False)]
    for b in (1, 3, 8):
        v = np.arange(b * 4, dtype=np.float32).reshape(b, 4) - 5
        got = exe(v)
        assert got.shape == (b,)
        np.testing.assert_allclose(got, np.maximum(v, 0).sum(axis=1), rtol=1e-6)
        np.testing.assert_allclose(exe.run({'x': v})['y'], got)
    # Out of bound: refused with the run's reason, nothing ran.
    with pytest.raises(kiln.Error, match='bound'):
        exe(np.zeros((9, 4), np.float32))
    with pytest.raises(kiln.Error, match='shape'):
        exe(np.zeros((2, 4, 1), np.float32))
    # The same from a .so made once.
    so = tmp_path / 'relu.so'
    with kiln.import_onnx(data, max_shapes={'x': (8, 4)}) as m:
        m.compile_so(str(so))
    exe2 = kiln.load(str(so))
    np.testing.assert_allclose(exe2(np.ones((5, 4), np.float32)), np.full(5, 4, np.float32))


def test_sizes_computed_from_values():
    pytest.importorskip('onnx', reason='python3-onnx is needed to build a NonZero model')
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node('NonZero', ['x'], ['y'])], 'g',
                          [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 3])],
                          [helper.make_tensor_value_info('y', TensorProto.INT64, None)])
    data = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]).SerializeToString()
    exe = kiln.compile(data)
    assert [s.computed for s in exe.symbols] == [True] and exe.symbols[0].bound == 6
    with kiln.import_onnx(data) as m:
        for x in (np.array([[0, 1, 0], [2, 0, 3]], np.float32), np.zeros((2, 3), np.float32),
                  np.ones((2, 3), np.float32)):
            want = np.array(np.nonzero(x), np.int64)
            got = exe(x)
            assert got.shape == want.shape and got.dtype == np.int64
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(m.evaluate(x), want)


def test_bf16_model_takes_bits_or_floats():
    # bf16 has no NumPy type: uint16 bits, or floats rounded to bf16.
    m = kiln.parse_ir('module tof32\n\nENTRY %main outputs={"f", "b"} {\n'
                      '  %a = bf16[3] parameter(0), io_name="a"\n'
                      '  %c = f32[3] convert(%a)\n'
                      '  %d = bf16[3] convert(%c)\n'
                      '  ROOT %t = (f32[3], bf16[3]) tuple(%c, %d)\n}\n')
    assert m.inputs[0].dtype == np.uint16 and m.inputs[0].kiln_dtype == 'bf16'
    v = np.array([1.0, -2.5, 0.15625], np.float32)  # exact in bf16
    exe = m.jit()
    for arg in (v, kiln.float32_to_bf16(v)):
        f, bits = exe(arg)
        np.testing.assert_array_equal(f, v)
        assert bits.dtype == np.uint16
        np.testing.assert_array_equal(kiln.bf16_to_float32(bits), v)
    with pytest.raises(kiln.Error, match='shape'):
        exe(v[:2])


def test_bf16_helpers():
    v = np.array([1.0, -2.5, 3.140625, 1e-3], np.float32)
    bits = kiln.float32_to_bf16(v)
    assert bits.dtype == np.uint16
    back = kiln.bf16_to_float32(bits)
    np.testing.assert_array_equal(back[:3], v[:3])  # exact in bf16
    assert abs(back[3] - v[3]) / v[3] < 2 ** -8


def test_readme_example_runs_as_written():
    # Exactly the README's line (float64 ones, converted to f32).
    code = 'import kiln, numpy as np; e = kiln.compile("examples/jit/mlp.onnx"); print(e(np.ones((2, 64))))'
    r = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    printed = np.array([float(v) for v in re.findall(r'[0-9.]+(?:e[-+][0-9]+)?', r.stdout)])
    assert printed.shape == (20,), r.stdout
    # NumPy prints 8 decimals: far finer than TOL.
    np.testing.assert_allclose(printed.reshape(2, 10), mlp_reference(np.ones((2, 64), np.float32)), **TOL)

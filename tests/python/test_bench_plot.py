"""benchmarks/bench.py's bar chart of kiln/peer ratios, drawn once from a
made-up results table (no benchmark run): the SVG must parse as XML and
hold a bar per (model, peer, threads) and the labels, the PNG must have
PNG's signature and a sane size."""
import importlib.util
import os
import struct
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT

pytest.importorskip('matplotlib', reason='python3-matplotlib is not installed')


def load_bench():
    spec = importlib.util.spec_from_file_location('bench', os.path.join(ROOT, 'benchmarks', 'bench.py'))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


ROWS = [
    {'model': 'resnet18', 'threads': 1, 'kiln_ms': 30.0, 'ort_ms': 40.0, 'torch_ms': 60.0, 'kiln_over_ort': 0.75},
    {'model': 'resnet18', 'threads': 2, 'kiln_ms': 18.0, 'ort_ms': 20.0, 'torch_ms': 33.0, 'kiln_over_ort': 0.9},
    {'model': 'vit_tiny', 'threads': 1, 'kiln_ms': 12.0, 'ort_ms': 10.0, 'torch_ms': 15.0, 'kiln_over_ort': 1.2},
    {'model': 'vit_tiny', 'threads': 2, 'kiln_ms': 7.0, 'ort_ms': 6.0, 'torch_ms': 9.0, 'kiln_over_ort': 7 / 6},
]


def test_plot_ratios_writes_valid_svg_and_png(tmp_path):
    paths = load_bench().plot_ratios(ROWS, str(tmp_path))
    assert sorted(os.path.basename(p) for p in paths) == ['ratios.png', 'ratios.svg']
    svg = ET.parse(str(tmp_path / 'ratios.svg')).getroot()
    assert svg.tag == '{http://www.w3.org/2000/svg}svg'
    text = open(tmp_path / 'ratios.svg').read()
    # matplotlib's SVG names each bar patch_N and keeps text as glyph paths
    # with the string in a comment: the model names and legend must be there.
    for word in ('resnet18', 'vit_tiny', 'kiln/ORT, 1 thread', 'kiln/PyTorch, 2 threads'):
        assert word in text, word
    bars = [g for g in svg.iter('{http://www.w3.org/2000/svg}g') if g.get('id', '').startswith('patch_')]
    # 2 models x 2 peers x 2 thread counts, plus the axes' and legend's patches
    assert len(bars) >= 8
    with open(tmp_path / 'ratios.png', 'rb') as f:
        head = f.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n' and head[12:16] == b'IHDR'
    w, h = struct.unpack('>II', head[16:24])
    assert 300 <= w <= 4000 and 200 <= h <= 3000, (w, h)


def test_plot_without_torch_column(tmp_path):
    rows = [{k: v for k, v in r.items() if k != 'torch_ms'} for r in ROWS]
    paths = load_bench().plot_ratios(rows, str(tmp_path), formats=('svg',))
    text = open(paths[0]).read()
    assert 'kiln/ORT, 2 threads' in text and 'PyTorch' not in text

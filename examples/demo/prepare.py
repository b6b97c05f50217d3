#!/usr/bin/python3
"""Makes the demo's model and data: exports torchvision's resnet18 (random
weights from a fixed seed, batch-norm statistics randomised) to ONNX with
the project's export script, and writes the input image and PyTorch's
output as raw little-endian float32 files for the C host program.

usage: prepare.py OUTDIR
"""
import os
import subprocess
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
out = sys.argv[1]
subprocess.run(['/usr/bin/python3', os.path.join(root, 'tests', 'models', 'export_models.py'), out, 'resnet18'],
               check=True)
d = os.path.join(out, 'resnet18')
np.load(os.path.join(d, 'input_0.npy')).astype('<f4').tofile(os.path.join(out, 'input.bin'))
np.load(os.path.join(d, 'output_0.npy')).astype('<f4').tofile(os.path.join(out, 'pytorch_output.bin'))

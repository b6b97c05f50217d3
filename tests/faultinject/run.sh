#!/bin/sh
# Runs the fault-injection program on its three models: writes the CNN and
# attention models with make_models.py into WORKDIR/models, then runs
# PROGRAM (faultinject) on them and on MLP (examples/jit/mlp.onnx) with a
# work folder WORKDIR/out. Extra arguments go to PROGRAM (e.g. --jit,
# --stride K). Exit 77 (Meson's skip) when python3-onnx is missing.
#
# usage: run.sh PYTHON MAKE_MODELS.py PROGRAM WORKDIR MLP.onnx [PROGRAM OPTIONS...]
set -eu
python=$1 make_models=$2 program=$3 work=$4 mlp=$5
shift 5
if ! "$python" -c 'import onnx, numpy' 2>/dev/null; then
  echo "SKIP: $python cannot import onnx and numpy (python3-onnx, python3-numpy), needed to write the test's models"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work/models"
"$python" "$make_models" "$work/models"
exec "$program" "$@" "$work/out" "$mlp" "$work/models/cnn.onnx" "$work/models/attn.onnx"

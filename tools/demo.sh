#!/bin/sh
# The README's main command: installs what kiln needs, builds it, exports
# resnet18 from PyTorch to ONNX (random weights, fixed seed), compiles it to
# a shared object and a C header with `kiln compile`, builds a small C host
# program against them, and runs it: top-5 classes, distance to PyTorch's
# output, latency.
#   tools/demo.sh [--no-deps]
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--no-deps" ]; then
  if [ "$(id -u)" = 0 ]; then tools/install-deps.sh; else sudo tools/install-deps.sh; fi
fi
[ -d build-release ] || meson setup build-release --buildtype=release
ninja -C build-release
out=build-release/demo
mkdir -p "$out"
echo "== exporting resnet18 to ONNX"
/usr/bin/python3 examples/demo/prepare.py "$out" >/dev/null
echo "== kiln compile $out/resnet18/model.onnx"
build-release/tools/kiln compile "$out/resnet18/model.onnx" -o "$out/libresnet18.so" --header "$out/resnet18.h" \
  --name resnet18 --time
echo "== building the C host program against the generated header"
cc -O2 -std=c17 -D_POSIX_C_SOURCE=200809L examples/demo/classify.c -I"$out" -L"$out" -lresnet18 \
  -Wl,-rpath,'$ORIGIN' -lm -o "$out/classify"
echo "== running it"
"$out/classify" "$out/input.bin" "$out/pytorch_output.bin"

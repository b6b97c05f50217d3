#!/bin/sh
# Installs everything kiln needs on Debian bookworm (run as root).
#   tools/install-deps.sh          build + test dependencies
#   tools/install-deps.sh --bench  also Node.js + onnxruntime-node for benchmarks
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  build-essential meson ninja-build pkg-config file \
  llvm-19-dev llvm-19-tools clang-19 lld-19 libclang-rt-19-dev \
  libcmocka-dev libprotobuf-c-dev protobuf-c-compiler libonnx-dev \
  libonnx-testdata python3 python3-numpy python3-onnx python3-pytest python3-matplotlib \
  python3-torch python3-torchvision qemu-user
if [ "${1:-}" = "--bench" ]; then
  apt-get install -y --no-install-recommends nodejs npm
  here=$(cd "$(dirname "$0")/.." && pwd)
  (cd "$here/benchmarks" && npm install --no-audit --no-fund)
fi

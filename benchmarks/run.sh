#!/bin/sh
# One command for the benchmark table: builds kiln (release), installs
# onnxruntime-node if needed, then runs bench.py with the given options
# (see bench.py --help). Needs the packages of tools/install-deps.sh --bench.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
[ -d build-release ] || meson setup build-release --buildtype=release >/dev/null
ninja -C build-release >/dev/null
[ -d "$here/node_modules/onnxruntime-node" ] || (cd "$here" && npm install --no-audit --no-fund >/dev/null)
exec /usr/bin/python3 "$here/bench.py" --kiln "$root/build-release/tools/kiln" "$@"

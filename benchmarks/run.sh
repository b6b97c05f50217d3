#!/bin/sh
# One command for the benchmark table: builds kiln (release), installs
# onnxruntime-node if needed, then runs bench.py with the given options
# (see bench.py --help). Needs the packages of tools/install-deps.sh --bench.
#
# Before/after: BASELINE_REV=REV benchmarks/run.sh [options] also builds
# the commit REV (a release build of `git archive REV` in build-baseline-REV/,
# the working tree's git state untouched) and passes its kiln to bench.py as
# --baseline-kiln, so both are timed in the same run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
[ -d build-release ] || meson setup build-release --buildtype=release >/dev/null
ninja -C build-release >/dev/null
if [ -n "${BASELINE_REV:-}" ]; then
  rev=$(git rev-parse --short "$BASELINE_REV^{commit}")
  base="$root/build-baseline-$rev"
  if [ ! -f "$base/build/build.ninja" ]; then
    rm -rf "$base"
    mkdir -p "$base/src"
    git archive "$rev" | tar -x -C "$base/src"
    meson setup "$base/build" "$base/src" --buildtype=release >/dev/null
  fi
  ninja -C "$base/build" >/dev/null
  # bench.py names the commit, not this build's path, in its reproduce line.
  export BENCH_BASELINE_REV="$rev" BENCH_BASELINE_KILN="$base/build/tools/kiln"
  set -- --baseline-kiln "$BENCH_BASELINE_KILN" "$@"
fi
# The CPU binaries ship inside onnxruntime-node; .npmrc skips its postinstall
# (which only fetches GPU providers).
[ -d "$here/node_modules/onnxruntime-node" ] || (cd "$here" && npm install --no-audit --no-fund >/dev/null)
exec /usr/bin/python3 "$here/bench.py" --kiln "$root/build-release/tools/kiln" "$@"

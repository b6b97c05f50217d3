#!/bin/sh
# Builds one libFuzzer target (the fuzzing build of meson_options.txt:
# clang-19, ASan + UBSan, libFuzzer) and runs it for SECONDS (default 60)
# on a scratch copy of its seed corpus:
#
#     tests/fuzz/run.sh ir_parser|npy|onnx_import [SECONDS] [libFuzzer options...]
#
# The build folder is $FUZZ_OUT (default build-fuzz/ at the repository
# root); the targets are built from the library's own source lists, like
# every other build. The growing corpus (corpus-TARGET/) and any crashing
# input (artifacts-TARGET/crash-*, leak-*, timeout-*, oom-*) go to
# $FUZZ_OUT too. A crash reproduces with
# `build-fuzz/tests/fuzz/fuzz_TARGET FILE`; fix it, then add FILE to
# tests/fuzz/corpus/TARGET/ so the Meson tests fuzz/replay_TARGET and
# fuzz-run/TARGET keep it fixed. Extra arguments go to libFuzzer
# (e.g. -jobs=2).
set -eu

target=${1:-}
secs=${2:-60}
[ $# -ge 2 ] && shift 2 || shift $#
case $target in
  ir_parser|npy|onnx_import) ;;
  *) echo "usage: $0 ir_parser|npy|onnx_import [SECONDS] [libFuzzer options...]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_OUT:-$root/build-fuzz}

if [ ! -f "$out/build.ninja" ]; then
  CC=${CC_FUZZ:-clang-19} meson setup "$out" "$root" -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$out" "tests/fuzz/fuzz_$target"
exec "$root/tests/fuzz/fuzz_run.sh" "$out/tests/fuzz/fuzz_$target" "$target" "$secs" "$out" "$@"

#!/bin/sh
# Builds one libFuzzer target with clang-19 (ASan + UBSan + libFuzzer) and
# runs it for SECONDS (default 60) on a scratch copy of its seed corpus:
#
#     tests/fuzz/run.sh ir_parser|npy|onnx_import [SECONDS]
#
# Work files go to $FUZZ_OUT (default build-fuzz/ at the repository root):
# the binary, the growing corpus (corpus-TARGET/) and any crashing input
# (artifacts-TARGET/crash-*, leak-*, timeout-*, oom-*). A crash reproduces
# with `build-fuzz/fuzz_TARGET FILE`; fix it, then add FILE to
# tests/fuzz/corpus/TARGET/ so the Meson test fuzz/replay_TARGET keeps it
# fixed. Extra arguments after SECONDS go to libFuzzer (e.g. -jobs=2).
set -eu

target=${1:-}
secs=${2:-60}
[ $# -ge 2 ] && shift 2 || shift $#
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_OUT:-$root/build-fuzz}
cc=${CC_FUZZ:-clang-19}

case $target in
ir_parser)
  srcs="tests/fuzz/fuzz_ir_parser.c ir/arena.c ir/diag.c ir/literal.c ir/module.c ir/parse.c ir/print.c
        ir/shape.c ir/strbuf.c ir/types.c ir/verify.c"
  maxlen=8192 ;;
npy)
  srcs="tests/fuzz/fuzz_npy.c tools/npy.c ir/types.c tests/fuzz/npy_shim.c"
  maxlen=2048 ;;
onnx_import)
  # The importer with the interpreter (import-time constants) and the
  # protobuf-c code generated from the system's onnx.proto.
  mkdir -p "$out/gen/frontend/onnx"
  protoc-c --proto_path=/usr/include/onnx --c_out="$out/gen/frontend/onnx" onnx.proto
  srcs="tests/fuzz/fuzz_onnx_import.c $(cd "$root" && echo ir/*.c frontend/onnx/*.c) $out/gen/frontend/onnx/onnx.pb-c.c
        -I$out/gen -D_XOPEN_SOURCE=700 -lprotobuf-c"
  maxlen=16384 ;;
*)
  echo "usage: $0 ir_parser|npy|onnx_import [SECONDS] [libFuzzer options...]" >&2
  exit 2 ;;
esac

mkdir -p "$out/corpus-$target" "$out/artifacts-$target"
bin=$out/fuzz_$target
(cd "$root" && $cc -std=c17 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -D_POSIX_C_SOURCE=200809L -fno-strict-aliasing -I. -Iinclude \
  $srcs -lm -o "$bin")

# The scratch corpus starts from the committed seeds; what the fuzzer adds
# stays in $out and is not committed.
cp -n "$root/tests/fuzz/corpus/$target/"* "$out/corpus-$target/" 2>/dev/null || true
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$bin" -max_total_time="$secs" -max_len=$maxlen -timeout=10 -rss_limit_mb=2048 \
  -dict="$root/tests/fuzz/$target.dict" -artifact_prefix="$out/artifacts-$target/" \
  -print_final_stats=1 "$@" "$out/corpus-$target"

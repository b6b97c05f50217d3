#!/bin/sh
# Runs one libFuzzer target of tests/fuzz for SECONDS on a scratch copy of
# its seed corpus (tests/fuzz/corpus/TARGET), with the target's dictionary
# and input size limit. Used by run.sh (a corpus that grows from run to
# run) and by the Meson suite fuzz-run (--fresh: the scratch corpus is
# emptied first and the seed is fixed, so a run is repeatable).
#
#     fuzz_run.sh [--fresh] BINARY TARGET SECONDS WORKDIR [libFuzzer options...]
#
# WORKDIR gets corpus-TARGET/ (the scratch corpus) and artifacts-TARGET/
# (crash-*, leak-*, timeout-*, oom-*). Exit status: 0 when the run ended
# without a finding, 1 on a finding (never 77, libFuzzer's default, which
# Meson would read as "skipped"), 2 on bad usage.
set -eu

fresh=0
if [ "${1:-}" = --fresh ]; then fresh=1; shift; fi
if [ $# -lt 4 ]; then
  echo "usage: $0 [--fresh] BINARY TARGET SECONDS WORKDIR [libFuzzer options...]" >&2
  exit 2
fi
bin=$1 target=$2 secs=$3 work=$4
shift 4
here=$(cd "$(dirname "$0")" && pwd)

# Inputs longer than these do not find more in the target's code; they
# only slow each execution down.
case $target in
  ir_parser) maxlen=8192 ;;
  npy) maxlen=2048 ;;
  onnx_import) maxlen=16384 ;;
  *) echo "$0: unknown fuzz target '$target'" >&2; exit 2 ;;
esac

corpus=$work/corpus-$target
artifacts=$work/artifacts-$target
[ $fresh = 1 ] && rm -rf "$corpus" "$artifacts"
mkdir -p "$corpus" "$artifacts"
# The committed seeds are copied, never written: what the fuzzer adds stays
# in the scratch corpus.
cp -n "$here/corpus/$target/"* "$corpus/" 2>/dev/null || true

seed=
[ $fresh = 1 ] && seed=-seed=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}:halt_on_error=1"
exec "$bin" -max_total_time="$secs" $seed -max_len=$maxlen -timeout=10 -rss_limit_mb=2048 \
  -error_exitcode=1 -timeout_exitcode=1 -dict="$here/$target.dict" -artifact_prefix="$artifacts/" \
  -print_final_stats=1 "$@" "$corpus"

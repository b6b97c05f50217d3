#!/bin/sh
# Runs ONNX's backend test cases (Debian's libonnx-testdata) through
# `kiln test-onnx` and fails when a case listed in the expected-pass file
# does not pass, or when a sanitizer reports anything (UBSan keeps going
# after a report unless told otherwise, so its output is checked too).
# Skips (exit 77) when the test data is not installed.
#
# usage: run_conformance.sh [--cpu=NAME] [--features=LIST] [--freeze-shape-inputs] [--expect-unfrozen=FILE] KILN ENGINE EXPECTED_PASS_FILE [DATA_DIR...]
#
# --cpu/--features go to test-onnx (code generated for that CPU instead of
# this machine's), and so do --expect-unfrozen (cases that must pass with
# every input real) and --freeze-shape-inputs (cases whose import
# needs shape-deciding inputs frozen count as run frozen; the summary line
# gives the count without freezing too); DATA_DIR (default: the four folders of the installed
# test data) may also be single cases, for a subset.
target=
while :; do
  case "$1" in
    --cpu=*|--features=*|--freeze-shape-inputs|--expect-unfrozen=*) target="$target $1"; shift ;;
    *) break ;;
  esac
done
kiln=$1 engine=$2 expect=$3
shift 3
data=/usr/share/libonnx-testdata/data
if [ $# -eq 0 ]; then
  if [ ! -d "$data/node" ]; then
    echo "ONNX backend test data not found in $data (apt-get install libonnx-testdata): skipping"
    exit 77
  fi
  set -- "$data/node" "$data/pytorch-converted" "$data/pytorch-operator" "$data/simple"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
# shellcheck disable=SC2086
"$kiln" test-onnx --engine="$engine" $target --expect-pass "$expect" "$@" >"$log" 2>&1
rc=$?
cat "$log"
echo "conformance ($engine${target:+,$target}): $(($(date +%s) - start)) s"
if grep -q -e "runtime error:" -e "AddressSanitizer" -e "LeakSanitizer" "$log"; then
  echo "a sanitizer reported a problem (see above)"
  rc=1
fi
exit $rc

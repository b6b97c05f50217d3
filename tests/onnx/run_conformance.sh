#!/bin/sh
# Runs ONNX's backend test cases (Debian's libonnx-testdata) through
# `kiln test-onnx` and fails when a case listed in the expected-pass file
# does not pass, or when a sanitizer reports anything (UBSan keeps going
# after a report unless told otherwise, so its output is checked too).
# Skips (exit 77) when the test data is not installed.
#
# usage: run_conformance.sh KILN ENGINE EXPECTED_PASS_FILE [DATA_DIR]
kiln=$1 engine=$2 expect=$3 data=${4:-/usr/share/libonnx-testdata/data}
if [ ! -d "$data/node" ]; then
  echo "ONNX backend test data not found in $data (apt-get install libonnx-testdata): skipping"
  exit 77
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
"$kiln" test-onnx --engine="$engine" --expect-pass "$expect" \
  "$data/node" "$data/pytorch-converted" "$data/pytorch-operator" "$data/simple" >"$log" 2>&1
rc=$?
cat "$log"
echo "conformance ($engine): $(($(date +%s) - start)) s"
if grep -q -e "runtime error:" -e "AddressSanitizer" -e "LeakSanitizer" "$log"; then
  echo "a sanitizer reported a problem (see above)"
  rc=1
fi
exit $rc

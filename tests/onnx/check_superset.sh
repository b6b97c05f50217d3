#!/bin/sh
# Fails unless every case listed in SUBSET (comments and blank lines aside)
# is listed in SUPERSET: the compiled code must pass at least every case
# the interpreter passes (the "CPU codegen" issue's acceptance).
#
# usage: check_superset.sh SUBSET SUPERSET
sub=$1 super=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -v -e '^#' -e '^[[:space:]]*$' "$sub" | sort -u >"$tmp/sub"
grep -v -e '^#' -e '^[[:space:]]*$' "$super" | sort -u >"$tmp/super"
missing=$(comm -23 "$tmp/sub" "$tmp/super")
if [ -n "$missing" ]; then
  echo "listed in $sub but not in $super:"
  echo "$missing"
  exit 1
fi
echo "all $(wc -l <"$tmp/sub") cases of $sub are in $super ($(wc -l <"$tmp/super") cases)"

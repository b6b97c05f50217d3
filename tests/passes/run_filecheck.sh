#!/bin/sh
# run_filecheck.sh KILN FILECHECK FILE: runs every
#   // RUN: kiln ARGS [2>&1] | FileCheck %s [FILECHECK ARGS]
# line of FILE (%s is FILE) and checks the output; with 2>&1 the
# diagnostics (e.g. --remarks) are checked too. Fails on the first failure.
set -eu
kiln=$1 fc=$2 file=$3
runs=$(sed -n 's#^// RUN: kiln \(.*\) | FileCheck %s\(.*\)$#\1|\2#p' "$file")
[ -n "$runs" ] || { echo "$file: no '// RUN: kiln ... | FileCheck %s' line" >&2; exit 1; }
printf '%s\n' "$runs" | while IFS='|' read -r run fcargs; do
  args=$(printf '%s' "$run" | sed "s#%s#$file#g")
  case "$args" in
    *" 2>&1")
      args=${args% 2>&1}
      # shellcheck disable=SC2086
      "$kiln" $args 2>&1 | "$fc" "$file" $fcargs ;;
    *)
      # shellcheck disable=SC2086
      "$kiln" $args | "$fc" "$file" $fcargs ;;
  esac
done

#!/bin/sh
# run_filecheck.sh KILN FILECHECK FILE: runs the command of FILE's
# "// RUN: kiln ... %s ... | FileCheck %s" line and checks it.
set -eu
kiln=$1 fc=$2 file=$3
run=$(sed -n 's#^// RUN: kiln \(.*\) | FileCheck %s$#\1#p' "$file" | head -n 1)
[ -n "$run" ] || { echo "$file: no '// RUN: kiln ... | FileCheck %s' line" >&2; exit 1; }
args=$(printf '%s' "$run" | sed "s#%s#$file#g")
# shellcheck disable=SC2086
"$kiln" $args | "$fc" "$file"

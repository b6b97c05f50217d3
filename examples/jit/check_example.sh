#!/bin/sh
# The JIT example as a test: runs jit_example on mlp.onnx and compares the
# probabilities it prints with expected_output.txt (NumPy; make_mlp.py).
#
#   check_example.sh --installed BUILD_DIR SOURCE_DIR
#       as a user builds it: installs the kiln just built into a temporary
#       folder (meson install --destdir), builds jit_example.c against that
#       installation with `cc jit_example.c $(pkg-config --cflags --libs
#       kiln)` and nothing else, and runs it without LD_LIBRARY_PATH: the
#       documented way (README.md here). kiln.pc is relocatable (its prefix
#       is ${pcfiledir}/../../..), so PKG_CONFIG_PATH pointing into the
#       staged tree is all it takes; the run path kiln.pc adds points there
#       too. Skips (77) without pkg-config or a C compiler.
#   check_example.sh --binary JIT_EXAMPLE SOURCE_DIR
#       runs an example built in the tree (sanitizer builds, whose libkiln
#       a plain `cc` cannot link against).
set -eu
mode=$1 src=$3/examples/jit
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

compare() {
  grep '^probs = ' "$dest/out.txt" >"$dest/got" || { echo "no 'probs = ' line in the output"; exit 1; }
  grep '^probs = ' "$src/expected_output.txt" >"$dest/want"
  awk 'NR == FNR { for (i = 3; i <= NF; i++) want[i] = $i; n = NF; next }
       { if (NF != n) { print "got " NF - 2 " values, expected " n - 2; bad = 1; exit }
         for (i = 3; i <= NF; i++) {
           d = $i - want[i]; if (d < 0) d = -d
           tol = 1e-6 + 1e-5 * (want[i] < 0 ? -want[i] : want[i])
           if (d > tol) { print "value " i - 3 ": got " $i ", expected " want[i]; bad = 1 }
         } }
       END { exit bad }' "$dest/want" "$dest/got"
  echo "the example's output matches NumPy's"
}

if [ "$mode" = --binary ]; then
  "$2" "$src/mlp.onnx" >"$dest/out.txt"
  cat "$dest/out.txt"
  compare
  exit 0
fi

build=$2
command -v pkg-config >/dev/null || { echo "pkg-config not found: skipping"; exit 77; }
command -v cc >/dev/null || { echo "cc not found: skipping"; exit 77; }
meson install -C "$build" --no-rebuild --destdir "$dest/root" >"$dest/install.log" 2>&1 || { cat "$dest/install.log"; exit 1; }
pc=$(find "$dest/root" -name kiln.pc | head -n 1)
[ -n "$pc" ] || { echo "meson install wrote no kiln.pc"; exit 1; }
for h in kiln/kiln.h kiln/artifact.h; do
  [ -n "$(find "$dest/root" -path "*/include/$h")" ] || { echo "meson install did not install $h"; exit 1; }
done
# Relocatable: no absolute prefix may be left in it (issue 9: a staged tree
# used to need PKG_CONFIG_SYSROOT_DIR and LD_LIBRARY_PATH).
grep -q '^prefix=${pcfiledir}/' "$pc" || { echo "kiln.pc is not relocatable:"; cat "$pc"; exit 1; }
unset PKG_CONFIG_SYSROOT_DIR LD_LIBRARY_PATH
export PKG_CONFIG_PATH="$(dirname "$pc")"
flags=$(pkg-config --cflags --libs kiln)
echo "pkg-config --cflags --libs kiln: $flags"
case "$flags" in *"$dest/root"*) ;; *) echo "the flags do not point into the staged tree $dest/root"; exit 1 ;; esac
# shellcheck disable=SC2086  # the flags are meant to be split
cc "$src/jit_example.c" $flags -o "$dest/jit_example"
"$dest/jit_example" "$src/mlp.onnx" >"$dest/out.txt"
cat "$dest/out.txt"
compare

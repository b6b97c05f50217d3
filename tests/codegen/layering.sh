#!/bin/sh
# The code generator's layering (docs/codegen.md, "Backends"): the shared
# core (codegen/*.c, *.h) reaches a backend (codegen/cpu/, codegen/gpu/)
# only through the table of cg_backend.h, picked by the registry
# codegen/cg_backends.c, the one core file allowed to name a backend.
#
#   1. No core file but the registry includes a header of codegen/cpu/,
#      codegen/gpu/ or runtime/.
#   2. No core file but the registry names, outside comments, a symbol a
#      backend defines (taken from the built objects with nm, so the list
#      follows the code) or one of the CPU-only names below.
#   3. No core object but the registry's has an undefined reference to a
#      symbol a backend object defines.
#   4. No cycle among codegen's files: neither in the #include graph nor in
#      the graph "object A uses a symbol object B defines" (tsort).
#
# Usage: layering.sh SOURCE_ROOT BUILD_ROOT
set -u
src=$1
obj=$2/api/libkiln_internal.a.p
[ -d "$obj" ] || { echo "SKIP: no objects at $obj (built as a shared library?)"; exit 77; }
command -v nm > /dev/null || { echo "SKIP: nm is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# Objects by layer: .._codegen_X.c.o (core), .._codegen_cpu_X.c.o, .._codegen_gpu_X.c.o
core_objs=$(ls "$obj"/.._codegen_cg_*.c.o | grep -v '/.._codegen_cg_backends\.c\.o$')
backend_objs=$(ls "$obj"/.._codegen_cpu_*.c.o "$obj"/.._codegen_gpu_*.c.o)
[ -n "$core_objs" ] && [ -n "$backend_objs" ] || { echo "FAIL: codegen objects not found in $obj"; exit 1; }

# Global symbols the backends define (functions and data).
nm -g --defined-only $backend_objs | awk 'NF == 3 { print $3 }' | sort -u > "$tmp/backend_syms"
[ -s "$tmp/backend_syms" ] || { echo "FAIL: no symbols found in the backend objects"; exit 1; }
# CPU-only names that are not symbols of an object: runtime functions the
# generated code calls, LLVM attributes, fields of the CPU backend's state.
cat >> "$tmp/backend_syms" << 'EOF'
rt_parallel_for
rt_set_num_threads
rt_num_threads
rt_pool_shutdown
rt_cpu_host_features
prefer-vector-width
fn_pfor
fn_cpu_host
have_pool
vec_features
EOF
sort -u -o "$tmp/backend_syms" "$tmp/backend_syms"

for f in "$src"/codegen/*.c "$src"/codegen/*.h; do
  base=$(basename "$f")
  [ "$base" = cg_backends.c ] && continue
  # 1. includes
  if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"(codegen/(cpu|gpu)/|runtime/)' "$f" > "$tmp/inc"; then
    echo "FAIL: codegen/$base includes a backend or runtime header:"; cat "$tmp/inc"
    fail=1
  fi
  # 2. names, comments and string literals' words included, comments out
  sed -e 's://.*$::' "$f" | tr '\n' '\1' | sed -e 's:/\*[^*]*\*\+\([^/*][^*]*\*\+\)*/::g' | tr '\1' '\n' > "$tmp/code"
  grep -noFwf "$tmp/backend_syms" "$tmp/code" > "$tmp/hits"
  if [ -s "$tmp/hits" ]; then
    echo "FAIL: codegen/$base names what only a backend defines (line:name):"; cat "$tmp/hits"
    fail=1
  fi
done

# 3. undefined references of core objects to backend symbols
for o in $core_objs; do
  nm -u "$o" | awk '{ print $NF }' | sort -u > "$tmp/undef"
  comm -12 "$tmp/undef" "$tmp/backend_syms" > "$tmp/bad"
  if [ -s "$tmp/bad" ]; then
    echo "FAIL: $(basename "$o") references backend symbols:"; cat "$tmp/bad"
    fail=1
  fi
done

# 4a. #include cycles among codegen's headers and sources
: > "$tmp/inc_edges"
for f in "$src"/codegen/*.[ch] "$src"/codegen/cpu/*.[ch] "$src"/codegen/gpu/*.[ch]; do
  me=codegen/${f#"$src"/codegen/}
  echo "$me $me" >> "$tmp/inc_edges"
  sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\(codegen\/[^"]*\)".*/\1/p' "$f" |
    while read -r h; do echo "$me $h"; done >> "$tmp/inc_edges"
done
if ! tsort "$tmp/inc_edges" > /dev/null 2> "$tmp/cyc"; then
  echo "FAIL: #include cycle among codegen's files:"; cat "$tmp/cyc"
  fail=1
fi

# 4b. reference cycles among codegen's objects (A uses what B defines)
: > "$tmp/def"
for o in $core_objs "$obj"/.._codegen_cg_backends.c.o $backend_objs; do
  nm -g --defined-only "$o" | awk -v o="$(basename "$o")" 'NF == 3 { print $3, o }' >> "$tmp/def"
done
sort -k1,1 "$tmp/def" > "$tmp/def_sorted"
: > "$tmp/ref_edges"
for o in $core_objs "$obj"/.._codegen_cg_backends.c.o $backend_objs; do
  b=$(basename "$o")
  echo "$b $b" >> "$tmp/ref_edges"
  nm -u "$o" | awk '{ print $NF }' | sort -u | join - "$tmp/def_sorted" | awk -v b="$b" '$2 != b { print b, $2 }' >> "$tmp/ref_edges"
done
if ! tsort "$tmp/ref_edges" > /dev/null 2> "$tmp/cyc"; then
  echo "FAIL: reference cycle among codegen's objects (tsort names the files on it):"; cat "$tmp/cyc"
  fail=1
fi

[ $fail = 0 ] && echo "codegen layering: core -> registry -> backends, no cycles ($(echo $core_objs | wc -w) core objects, $(echo $backend_objs | wc -w) backend objects, $(wc -l < "$tmp/backend_syms") backend names)"
exit $fail

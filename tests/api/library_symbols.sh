#!/bin/sh
# Checks the object files of the library (libkiln_internal.a, everything
# libkiln is made of) for process-wide side effects a library must not
# have, from their symbol tables rather than from the source text (a macro
# or a new spelling cannot hide a call from the linker):
#   - calls that change or end the process: dup/dup2 (redirecting stderr),
#     exit/abort/assert, signal handlers, setenv, setlocale, chdir, umask,
#     printing to stdout/stderr;
#   - mutable data with static storage (.data, .bss, thread-local), except
#     the names listed below with the reason each is harmless.
#
#     library_symbols.sh libkiln_internal.a
# Skipped (exit 77), saying why, when neither objdump nor llvm-objdump-19
# is installed.
set -eu
lib=$1
objdump=$(command -v objdump || command -v llvm-objdump-19 || true)
if [ -z "$objdump" ]; then
  echo "SKIP: neither objdump (binutils) nor llvm-objdump-19 is installed"
  exit 77
fi

"$objdump" -t "$lib" | awk '
  BEGIN {
    split("dup dup2 dup3 exit _exit _Exit quick_exit abort atexit at_quick_exit __assert_fail " \
          "__assert_perror_fail signal sigaction bsd_signal sysv_signal raise setenv putenv unsetenv " \
          "clearenv setlocale chdir fchdir umask freopen setvbuf setbuf printf vprintf puts putchar " \
          "perror stdout stderr", f, " ")
    for (i in f) forbidden[f[i]] = 1
    # Mutable statics allowed, "object:symbol", with why:
    #  init_once   pthread_once_t of the one-time LLVM initialisation;
    #  cached      the CPU features read with cpuid, computed on first use
    #              (the same value in every thread, an atomic store).
    allowed["codegen_cg_target.c.o:init_once"] = 1
    allowed["runtime_rt_cpu.c.o:cached"] = 1
  }
  / file format / { obj = $1; sub(/:$/, "", obj); next }
  # objdump -t: VALUE FLAGS... SECTION SIZE NAME
  NF >= 4 {
    name = $NF
    sec = $(NF - 2)
    if (name ~ /^(__asan|___asan|__ubsan|__sancov|__odr_asan|\.L)/) next
    short = obj                  # meson names them "DIR/.._dir_file.c.o"
    sub(/^.*\//, "", short)
    sub(/^(\.\._)+/, "", short)
    if (sec == "*UND*" && (name in forbidden)) {
      # Generated protobuf-c code asserts its own descriptors (misuse of its
      # API by kiln, not bad input).
      if (name ~ /^__assert/ && obj ~ /onnx\.pb-c/) next
      printf "%s: refers to %s\n", obj, name; bad = 1
    }
    if ($0 ~ / O / && sec ~ /^\.(data|bss|tdata|tbss)/ && sec !~ /^\.data\.rel\.ro/) {
      if ((short ":" name) in allowed) next
      printf "%s: mutable static data %s (section %s)\n", obj, name, sec; bad = 1
    }
  }
  END {
    if (!obj) { print "no object files read"; exit 1 }
    exit bad
  }'

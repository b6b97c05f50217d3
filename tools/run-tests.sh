#!/bin/sh
# The test command of the README: installs the dependencies, builds kiln
# with gcc and runs the whole test suite, checks that clang-19 builds it
# without a warning too and runs each libFuzzer target for a few seconds,
# then builds with AddressSanitizer +
# UndefinedBehaviorSanitizer and runs the suite again.
#   tools/run-tests.sh            everything
#   tools/run-tests.sh --no-deps  skip the apt-get step
#   tools/run-tests.sh --no-asan  skip the sanitizer build
#   tools/run-tests.sh --no-clang skip the clang-19 and fuzzing builds
set -eu
cd "$(dirname "$0")/.."
deps=1 asan=1 clang=1
for a in "$@"; do
  case "$a" in
    --no-deps) deps=0 ;;
    --no-asan) asan=0 ;;
    --no-clang) clang=0 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done
if [ $deps = 1 ]; then
  if [ "$(id -u)" = 0 ]; then tools/install-deps.sh; else sudo tools/install-deps.sh; fi
fi
jobs=$(nproc)
[ -d build ] || meson setup build --werror
ninja -C build
meson test -C build --num-processes "$jobs" --print-errorlogs
if [ $clang = 1 ]; then
  # warning_level=3 and --werror: any clang warning fails the build.
  [ -d build-clang ] || CC=clang-19 meson setup build-clang --werror
  ninja -C build-clang
  # The libFuzzer targets (tests/fuzz), built from the library's sources
  # with clang-19, ASan and UBSan, each run for 5 seconds from a fixed seed.
  [ -d build-fuzz ] || CC=clang-19 meson setup build-fuzz --werror -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false
  ninja -C build-fuzz fuzz
  meson test -C build-fuzz --no-rebuild --suite fuzz-run --print-errorlogs
fi
if [ $asan = 1 ]; then
  [ -d build-asan ] || meson setup build-asan --werror -Db_sanitize=address,undefined -Db_lundef=false
  ninja -C build-asan
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --num-processes "$jobs" --print-errorlogs --timeout-multiplier 4
fi
echo "kiln: all tests passed"

#!/usr/bin/env bash
# test.sh -- runs every test: formatting, a -Werror build with all unit and integration tests
# (real redis-server, real dcmp-worker processes), then the same tests under AddressSanitizer
# and UndefinedBehaviorSanitizer. This is the command the README and .ci/run give.
set -euo pipefail
cd "$(dirname "$0")"

scripts/deps.sh test

echo "== formatting (clang-format, .clang-format)"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests bench -name '*.[ch]')
if ! clang-format --dry-run --Werror $files; then
  echo "test.sh: run clang-format -i on the files above" >&2
  exit 1
fi

jobs=$(nproc)
echo "== build with -Werror and test"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDCMP_WERROR=ON >/dev/null
cmake --build build-test -j"$jobs"
(cd build-test && ctest --output-on-failure -j"$jobs")

echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer and test"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDCMP_WERROR=ON -DDCMP_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")

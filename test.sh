#!/usr/bin/env bash
# test.sh -- runs every test: formatting, a -Werror build with all unit and integration tests
# (real redis-server, real dcmp-worker processes), the same tests under AddressSanitizer and
# UndefinedBehaviorSanitizer, then each fuzz target (libFuzzer) for FUZZ_SECONDS (default 15).
# This is the command the README and .ci/run give.
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

echo "== fuzz targets (clang, libFuzzer), ${FUZZ_SECONDS:-15} s each"
# Both compilers named as cache variables: libdcmp has C++ (DCMTK), and CC/CXX from the
# environment are ignored by a build-fuzz configured before with another compiler.
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=Debug -DDCMP_FUZZ=ON -DDCMP_SANITIZE=ON -DDCMP_TESTS=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_env fuzz_job fuzz_settings fuzz_webhook \
  fuzz_dicom fuzz_request
for target in env job settings webhook dicom request; do
  corpus=$(mktemp -d)
  if ! build-fuzz/bin/fuzz_$target -max_total_time="${FUZZ_SECONDS:-15}" \
      -artifact_prefix=build-fuzz/crash-$target- "$corpus" tests/fuzz/corpus/$target \
      >build-fuzz/fuzz_$target.log 2>&1; then
    tail -40 build-fuzz/fuzz_$target.log >&2
    echo "test.sh: fuzz_$target failed; the input is saved as build-fuzz/crash-$target-*" >&2
    exit 1
  fi
  echo "fuzz_$target: $(grep -E '^#[0-9]+[[:space:]]+DONE' build-fuzz/fuzz_$target.log | tail -1)"
  rm -rf "$corpus"
done
echo "test.sh: all passed"

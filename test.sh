#!/usr/bin/env bash
# test.sh -- runs every test: formatting, a -Werror build with all unit, integration and
# end-to-end tests (real redis-server, Orthanc, storescu, dcmp-* processes; the whole stack in
# native mode and with Docker Compose), the same tests under AddressSanitizer and
# UndefinedBehaviorSanitizer (but the Docker one), then each fuzz target (libFuzzer) for
# FUZZ_SECONDS (default 15).
# This is the command the README and .ci/run give.
set -euo pipefail
cd "$(dirname "$0")"

scripts/deps.sh test

# The Docker end-to-end test needs an engine. As root, when none answers, start Debian's dockerd
# for this run (log in build-test/dockerd.log) and stop it at the end; otherwise that test says
# it is skipped and why (DCMP_REQUIRE_DOCKER=1, set by .ci/run, makes it fail instead).
dockerd_pid=""
stop_dockerd() {
  if [ -n "$dockerd_pid" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
  fi
}
trap stop_dockerd EXIT
if ! timeout 10 docker info >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v dockerd >/dev/null; then
  mkdir -p build-test
  echo "== starting dockerd for the Docker end-to-end test (log: build-test/dockerd.log)"
  dockerd >build-test/dockerd.log 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do timeout 5 docker info >/dev/null 2>&1 && break; sleep 0.5; done
  timeout 5 docker info >/dev/null 2>&1 || { tail -20 build-test/dockerd.log >&2; echo "test.sh: dockerd did not start" >&2; }
fi

echo "== formatting (clang-format, .clang-format)"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests bench -name '*.[ch]')
if ! clang-format --dry-run --Werror $files; then
  echo "test.sh: run clang-format -i on the files above" >&2
  exit 1
fi

# ctest_in DIR ARGS...: ctest in DIR; when a test fails, the lines saying why (FAIL ..., else its
# last 25 lines) are printed again at the end, so that they are in the tail of a long log that
# a CI keeps only the ends of
ctest_in() {
  local dir="$1" rc=0 name
  shift
  (cd "$dir" && ctest --output-on-failure "$@") || rc=$?
  [ "$rc" -ne 0 ] || return 0
  echo "== why the failed tests failed (from $dir/Testing/Temporary/LastTest.log)"
  for name in $(sed 's/^[0-9]*://' "$dir/Testing/Temporary/LastTestsFailed.log" 2>/dev/null); do
    echo "-- $name"
    awk -v t="$name" '$0 ~ "^[0-9]+/[0-9]+ Testing: " t "$" {on=1; next}
      on && /^Test time =/ {exit} on' "$dir/Testing/Temporary/LastTest.log" >"$dir/failed.out"
    grep -v '^Command: ' "$dir/failed.out" | grep -E 'FAIL|[Ee]rror|Assertion|Sanitizer' | head -n 40 | grep . ||
      tail -n 25 "$dir/failed.out"
  done
  return "$rc"
}

jobs=$(nproc)
echo "== build with -Werror and test"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDCMP_WERROR=ON >/dev/null
cmake --build build-test -j"$jobs"
ctest_in build-test -j"$jobs"

echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer and test"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDCMP_WERROR=ON -DDCMP_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
# the Docker end-to-end test builds its images from the sources, not from this build: once is enough
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest_in build-asan -j"$jobs" -LE docker

echo "== fuzz targets (clang, libFuzzer), ${FUZZ_SECONDS:-15} s each"
# Both compilers named as cache variables: libdcmp has C++ (DCMTK), and CC/CXX from the
# environment are ignored by a build-fuzz configured before with another compiler.
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=Debug -DDCMP_FUZZ=ON -DDCMP_SANITIZE=ON -DDCMP_TESTS=ON >/dev/null
fuzz_targets="env job settings webhook dicom sop_uid manifest ctp_script ctp_lut pseudonyms_csv request"
cmake --build build-fuzz -j"$jobs" --target $(printf 'fuzz_%s ' $fuzz_targets)
for target in $fuzz_targets; do
  corpus=$(mktemp -d)
  # -timeout: an input that takes longer fails the run (a parser gone quadratic: the webhook
  # corpus' 10,000-key bodies take 10 to 45 s each with a per-key lookup, under 1 s linear)
  if ! build-fuzz/bin/fuzz_$target -max_total_time="${FUZZ_SECONDS:-15}" \
      -timeout="${FUZZ_TIMEOUT:-5}" -artifact_prefix=build-fuzz/crash-$target- \
      "$corpus" tests/fuzz/corpus/$target \
      >build-fuzz/fuzz_$target.log 2>&1; then
    tail -40 build-fuzz/fuzz_$target.log >&2
    echo "test.sh: fuzz_$target failed; the input is saved as build-fuzz/crash-$target-*" >&2
    exit 1
  fi
  echo "fuzz_$target: $(grep -E '^#[0-9]+[[:space:]]+DONE' build-fuzz/fuzz_$target.log | tail -1)"
  rm -rf "$corpus"
done
echo "test.sh: all passed"

#!/bin/sh
# hosts.sh -- builds (Release) and runs the benchmark of workers on network-namespace hosts.
#
# usage: bench/hosts.sh   (root: it makes two network namespaces with a veth pair each)
# Environment: BUILD (default build-bench), JOBS (4000 per phase), WORKERS (4 in all), ROUNDS
# (3, interleaved), RUNS (200 latency samples), WORKER_EXECUTOR (pool).
# bench_hosts starts its own redis-server on a free loopback port in a temp dir (persistence
# turned off), reached by the namespaces at the root ends of their links with a password, and
# ends it and the namespaces on exit. The table goes to bench/out/hosts.txt.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
OUT=$ROOT/bench/out

if [ "$(id -u)" != 0 ]; then
    echo "hosts.sh: needs root (ip netns add)" >&2
    exit 1
fi
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
if ! cmake --build "$BUILD" -j2 --target bench_hosts dcmp-worker testmods >/dev/null; then
    echo "hosts.sh: build failed" >&2
    exit 1
fi

mkdir -p "$OUT"
TMPDIR=${TMPDIR:-/tmp}
export TMPDIR
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    echo "dcm-processor benchmark of namespace hosts, $(date '+%Y-%m-%d %H:%M %Z')"
    echo "$(nproc) CPUs ($CPU), Linux $(uname -r), redis $(redis-server --version |
        sed -n 's/.*v=\([^ ]*\).*/\1/p') (no persistence), dcmp $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "?")"
    echo
    DCMP_WORKER_BIN=$BUILD/bin/dcmp-worker DCMP_TEST_MODULES=$BUILD/tests/modules \
        "$BUILD/bin/bench_hosts" --jobs "${JOBS:-4000}" --workers "${WORKERS:-4}" \
        --rounds "${ROUNDS:-3}" --runs "${RUNS:-200}"
} | tee "$OUT/hosts.txt"

#!/bin/sh
# dashboard.sh -- builds (Release) and runs the dashboard benchmark: N finished and N failed
# jobs put in a fresh Redis through the real protocol scripts, then dcmp-dashboard's API timed.
#
# usage: bench/dashboard.sh
# Environment: BUILD (default build-bench), JOBS (100000: finished, and as many failed),
# RUNS (200 requests of each kind).
# Starts its own redis-server on a free loopback port in a temp dir, persistence off, and ends
# it by PID on exit. The table goes to bench/out/dashboard.txt.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
JOBS=${JOBS:-100000}
RUNS=${RUNS:-200}
OUT=$ROOT/bench/out

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
if ! cmake --build "$BUILD" -j2 --target bench_dashboard dcmp-dashboard >/dev/null; then
    echo "dashboard.sh: build failed" >&2
    exit 1
fi

. "$ROOT/bench/redis.sh"
bench_redis_start dashboard.sh

mkdir -p "$OUT"
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    echo "dcm-processor dashboard benchmark, $(date '+%Y-%m-%d %H:%M %Z'), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "$(nproc) CPUs ($CPU), Linux $(uname -r), redis $(redis-server --version |
        sed -n 's/.*v=\([^ ]*\).*/\1/p') (no persistence), dcmp $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "?")"
    echo
    "$BUILD/bin/bench_dashboard" --port "$PORT" --dashboard "$BUILD/bin/dcmp-dashboard" \
        --dir "$TMP" --jobs "$JOBS" --runs "$RUNS"
} | tee "$OUT/dashboard.txt"

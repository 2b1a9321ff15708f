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

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dcmp-bench-XXXXXX")
REDIS_PID=
cleanup() {
    if [ -n "$REDIS_PID" ]; then
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$TMP" --save "" --appendonly no \
    --daemonize no >"$TMP/redis.log" 2>&1 </dev/null &
REDIS_PID=$!
i=0
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -ge 200 ]; then
        echo "dashboard.sh: redis-server did not start:" >&2
        cat "$TMP/redis.log" >&2
        exit 1
    fi
    sleep 0.05
done

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

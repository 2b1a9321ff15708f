#!/bin/sh
# containers.sh -- the container job benchmark (issue 13): what a container job costs over its
# container's own run time, against `docker run --rm` of the same no-op image, in one run.
#
# usage: bench/containers.sh
# Environment: BUILD (default build-bench), RUNS (30: one job or one `docker run` at a time),
# JOBS (40: drained by 2 workers, and by 2 parallel `docker run --rm` loops), DCMP_IMAGE_TAG.
# The no-op image is built FROM debian:bookworm-slim (scripts/base-image.sh makes it) with
# ENTRYPOINT /bin/true. The engine's own start and die events (`docker events`, ns) give each
# container's own run time; a job's time is bench_worker's enqueue-to-finished time (client,
# polled every 100 us; the worker's pool executor does create -> start -> wait -> logs ->
# remove), a `docker run --rm`'s the wall time of the CLI call. Overhead = time - own run time.
# Starts its own redis-server on a free loopback port in a temp dir (persistence off) and ends
# it, the workers and `docker events` by PID on exit. The table goes to bench/out/containers.txt.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
RUNS=${RUNS:-30}
JOBS=${JOBS:-40}
OUT=$ROOT/bench/out
IMAGE="dcmp-bench-noop:${DCMP_IMAGE_TAG:-bench}"
PY=/usr/bin/python3

docker info >/dev/null 2>&1 || { echo "containers.sh: no Docker engine answers" >&2; exit 1; }
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
if ! cmake --build "$BUILD" -j2 --target bench_worker dcmp-worker dcmp-executor dcmp_container >/dev/null; then
    echo "containers.sh: build failed" >&2
    exit 1
fi
"$ROOT/scripts/base-image.sh" >/dev/null 2>&1 || { echo "containers.sh: no base image" >&2; exit 1; }

. "$ROOT/bench/redis.sh"
bench_redis_start containers.sh
EVENTS_PID=
stop_events() {
    if [ -n "$EVENTS_PID" ]; then
        kill "$EVENTS_PID" 2>/dev/null || true
        wait "$EVENTS_PID" 2>/dev/null || true
    fi
    bench_redis_cleanup
}
trap stop_events EXIT

mkdir -p "$TMP/image" "$TMP/modules" "$OUT"
printf 'FROM debian:bookworm-slim\nENTRYPOINT ["/bin/true"]\n' >"$TMP/image/Dockerfile"
docker build -q -t "$IMAGE" "$TMP/image" >/dev/null
# the engine's start and die events, with the job's label or the loop's
docker events --filter type=container --filter event=start --filter event=die \
    --format '{{.Status}} {{.TimeNano}} {{.Actor.ID}} {{index .Actor.Attributes "dcmp.job"}}{{index .Actor.Attributes "dcmp.bench"}}' \
    >"$TMP/events" 2>/dev/null &
EVENTS_PID=$!
sleep 1

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
# one container job at a time (J lines), then JOBS drained by 1 and 2 workers (T lines)
"$BUILD/bin/bench_worker" --port "$PORT" --worker "$BUILD/bin/dcmp-worker" --modules "$TMP/modules" \
    --dir "$TMP" --container "$IMAGE" --runs "$RUNS" --jobs "$JOBS" --only latency,burst \
    --label container >"$TMP/raw" 2>"$TMP/bench.err" || { cat "$TMP/bench.err" >&2; exit 1; }
# the same image with `docker run --rm`: one at a time, then JOBS by 2 parallel loops
i=0
while [ $i -lt "$RUNS" ]; do
    t0=$(date +%s%N)
    docker run --rm --label "dcmp.bench=run$i" --network none "$IMAGE"
    t1=$(date +%s%N)
    echo "R|run$i|$(( (t1 - t0) / 1000 ))" >>"$TMP/raw"
    i=$((i + 1))
done
loop() {
    k=0
    while [ $k -lt $(( JOBS / 2 )) ]; do
        docker run --rm --label "dcmp.bench=par$1-$k" --network none "$IMAGE"
        k=$((k + 1))
    done
}
t0=$(date +%s%N)
loop a &
pa=$!
loop b &
pb=$!
wait "$pa" "$pb"
t1=$(date +%s%N)
echo "P|$(( JOBS / 2 * 2 ))|$(( (t1 - t0) / 1000 ))" >>"$TMP/raw"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
sleep 1

{
    echo "dcm-processor container jobs benchmark, $(date '+%Y-%m-%d %H:%M %Z'), load before: $LOAD0, after: $LOAD1"
    echo "$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r), docker $(docker version -f '{{.Server.Version}}' 2>/dev/null), dcmp $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "?")"
    echo "image $IMAGE (ENTRYPOINT /bin/true), WORKER_EXECUTOR=${WORKER_EXECUTOR:-pool}"
    echo
    "$PY" - "$TMP/raw" "$TMP/events" <<'PY'
import math, statistics, sys

raw = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if "|" in l]
start, die = {}, {}
for line in open(sys.argv[2]):
    f = line.split()
    if len(f) == 4:
        (start if f[0] == "start" else die)[f[3]] = int(f[1])
def own_ms(key):
    return (die[key] - start[key]) / 1e6 if key in start and key in die else None
def p95(v):
    v = sorted(v)
    return v[max(0, math.ceil(0.95 * len(v)) - 1)]
def row(name, times, owns):
    over = [t - o for t, o in zip(times, owns)]
    print(f"{name:<34} {len(times):>4} {statistics.median(times):>9.1f} {p95(times):>9.1f}"
          f" {statistics.median(owns):>9.1f} {statistics.median(over):>9.1f} {p95(over):>9.1f}")
job = [(float(r[2]), own_ms(r[1])) for r in raw if r[0] == "J"]
run = [(int(r[2]) / 1000, own_ms(r[1])) for r in raw if r[0] == "R"]
job = [x for x in job if x[1] is not None]
run = [x for x in run if x[1] is not None]
print("one at a time, ms                   runs    median       p95  own(med) overhead(med)  (p95)")
row("container job (dcmp-worker, pool)", [t for t, _ in job], [o for _, o in job])
row("docker run --rm (CLI)", [t for t, _ in run], [o for _, o in run])
print()
print("throughput                         jobs   seconds    jobs/s")
for r in raw:
    if r[0] == "T":
        name = f"container jobs, {r[3]} worker(s)"
        print(f"{name:<34} {int(r[4]):>4} {float(r[5]):>9.2f} {int(r[4]) / float(r[5]):>9.2f}")
    if r[0] == "P":
        s = int(r[2]) / 1e6
        name = "docker run --rm, 2 parallel loops"
        print(f"{name:<34} {int(r[1]):>4} {s:>9.2f} {int(r[1]) / s:>9.2f}")
PY
} | tee "$OUT/containers.txt"

#!/bin/sh
# run.sh -- builds (Release), runs the dcmp-worker benchmark (C and Python no-op jobs) and RQ's
# side by side, prints a table.
#
# usage: bench/run.sh [--perf | --table | --scheduler | --python]
#   --perf       also measure, with perf (needs root), how long dcmp-worker sleeps in poll().
#   --table      only print the table again from the last run's bench/out/raw.txt.
#   --scheduler  only the scheduler benchmark (EVENTS, default 5000; SCHEDULER_PLANNERS).
#   --python     only the Python no-op jobs and RQ, in one run (issue 12).
# Environment: BUILD (default build-bench), JOBS (4000), RUNS (200), RQ_JOBS (2000), RQ_RUNS (30);
# PY_FORK_JOBS (200); WORKER_* variables are passed on to the dcmp workers. The Python jobs
# (rq_noop.noop, the very function RQ runs, through dcmp-worker's Python runner) drain RQ_JOBS
# with the pool, as RQ does, and their latency is measured RUNS times; in fork mode, where each
# job starts an interpreter, they drain PY_FORK_JOBS and are timed RQ_RUNS times.
# Starts its own redis-server on a free loopback port in a temp dir, persistence off, and ends
# it by PID on exit. The table goes to bench/out/results.txt, the raw lines to bench/out/raw.txt.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
JOBS=${JOBS:-4000}
RUNS=${RUNS:-200}
RQ_JOBS=${RQ_JOBS:-2000}
RQ_RUNS=${RQ_RUNS:-30}
PY_FORK_JOBS=${PY_FORK_JOBS:-200}
PY=/usr/bin/python3 # Debian's, which has python3-rq (not a pyenv python on PATH)
OUT=$ROOT/bench/out
RAW=$OUT/raw.txt
PERF=0
ONLY_SCHEDULER=0
ONLY_PYTHON=0
case "${1:-}" in
--perf) PERF=1 ;;
--scheduler) ONLY_SCHEDULER=1 ;;
--python) ONLY_PYTHON=1 ;;
--table) ;;
"") ;;
*) echo "usage: bench/run.sh [--perf | --table | --scheduler | --python]" >&2; exit 2 ;;
esac

# Prints the table from the raw lines (formats: bench_worker.c and rq_bench.py).
table() {
    awk -F'|' '
    $1 == "H" { print $2 }
    $1 == "T" { t[++nt] = $0; tput[$2 "|" $3 "|" $4] = $7 }
    $1 == "L" { l[++nl] = $0; lat[$2 "|" $3] = $5; lat95[$2 "|" $3] = $6 }
    $1 == "M" { m[++nm] = $0; if ($3 ~ /^worker idle/) idle[$2] = $4; if ($3 ~ /^executor alone/) exe[$2] = $4 }
    $1 == "C" { c[++nc] = $0 }
    $1 == "B" { b[++nb] = $0 }
    $1 == "P" { p[++np] = $0 }
    $1 == "S" { sc[++ns] = $0 }
    END {
        print ""
        print "Throughput, no-op jobs (burst: queued first, timed from starting the workers to the"
        print "last job finished; steady: workers already waiting, jobs enqueued one graph each)"
        printf "%-20s %-7s %7s %6s %8s %8s\n", "system", "mode", "workers", "jobs", "seconds", "jobs/s"
        for (i = 1; i <= nt; i++) {
            split(t[i], f, "|")
            printf "%-20s %-7s %7s %6s %8.2f %8s\n", f[2], f[3], f[4], f[5], f[6], f[7]
        }
        print ""
        print "Latency, enqueue to last job finished, 1 idle worker, ms (client: wall clock, polled"
        print "every 100 us; server: timestamps in the job records; dcmp: Redis TIME, whole ms)"
        printf "%-10s %-7s %5s %8s %8s %14s %11s\n", "system", "what", "runs", "median", "p95", "server median", "server p95"
        for (i = 1; i <= nl; i++) {
            split(l[i], f, "|")
            printf "%-10s %-7s %5s %8.2f %8.2f %14.1f %11.1f\n", f[2], f[3], f[4], f[5], f[6], f[7], f[8]
        }
        print ""
        print "Memory of the worker process (VmRSS)"
        for (i = 1; i <= nm; i++) {
            split(m[i], f, "|")
            printf "  %-10s %-50s %6.1f MB\n", f[2], f[3], f[4] / 1024
        }
        if (nc) {
            print ""
            print "CPU time per job, us (user + system; 2 CPUs give 2,000,000 us per second)"
            for (i = 1; i <= nc; i++) {
                split(c[i], f, "|")
                printf "  %-10s %-58s %8.1f\n", f[2], f[3], f[5]
            }
        }
        if (nb) {
            print ""
            print "Where the time of one dcmp job goes (each step alone, from this client, us per job)"
            for (i = 1; i <= nb; i++) {
                split(b[i], f, "|")
                printf "  %-72s %7.1f\n", f[2], f[4]
            }
        }
        if (np) {
            print ""
            print "perf: poll() calls of dcmp-worker and its job processes during 2 x 2000 jobs"
            printf "  %5s %8s %7s %12s %10s\n", "nfds", "timeout", "calls", "median us", "total ms"
            for (i = 1; i <= np; i++) {
                split(p[i], f, "|")
                printf "  %5s %8s %7s %12s %10s\n", f[2], f[3], f[4], f[5], f[6]
            }
        }
        if (ns) {
            print ""
            print "dcmp-scheduler (issue 3: 5,000 events/s planned, p99 < 5 ms, idle RSS < 8 MB; issue 12: 2,000 events/s with Python callbacks)"
            for (i = 1; i <= ns; i++) {
                split(sc[i], f, "|")
                printf "  %-84s %8s %s\n", f[2], f[3], f[4]
            }
        }
        r1 = tput["rq|burst|1"]; r2 = tput["rq|burst|2"]
        # issue 2: C no-op jobs (dcmp-*); issue 12: Python no-op jobs (py-*)
        split("dcmp-pool dcmp-fork py-pool py-fork", systems, " ")
        for (k = 1; k <= 4; k++) {
            sy = systems[k]
            py = sy ~ /^py-/
            want = py ? 15 : 30
            d1 = tput[sy "|burst|1"]; d2 = tput[sy "|burst|2"]; s2 = tput[sy "|steady|2"]; ch = lat[sy "|chain3"]
            if (d1 == "")
                continue
            print ""
            print (py ? "Targets (issue 12), Python no-op jobs, " : "Targets (issue 2), ") sy
            if (r1 > 0 && r2 > 0)
                printf "  %s / rq, burst: %.1fx with 1 worker, %.1fx with 2 (target %dx): %s\n", sy, d1 / r1, d2 / r2, want, (d2 / r2 >= want ? "met" : "missed")
            if (!py)
                printf "  2 workers: %s jobs/s burst, %s steady (target 4000): %s\n", d2, s2, (d2 >= 4000 ? "met" : "missed")
            printf "  3-job chain: median %.2f ms, p95 %.2f ms (target: median < 5 ms): %s\n", ch, lat95[sy "|chain3"], (ch < 5 ? "met" : "missed")
            if (!py)
                printf "  idle worker RSS: %.1f MB (target < 4 MB): %s\n", idle[sy] / 1024, (idle[sy] < 4096 ? "met" : "missed")
            if (py && exe[sy] != "")
                printf "  Python executor idle after jobs, RSS: %.1f MB (target < 15 MB): %s\n", exe[sy] / 1024, (exe[sy] < 15360 ? "met" : "missed")
        }
    }' "$RAW"
}

if [ "${1:-}" = "--table" ]; then
    table
    exit 0
fi

# ---- build ----
# configured every time: a target added since the last run is then known
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
if ! cmake --build "$BUILD" -j2 --target bench_worker bench_scheduler dcmp-worker dcmp-scheduler \
    dcmp-executor dcmp-dicom dcmp_python testmods testcb >/dev/null; then
    echo "run.sh: build failed (is add_subdirectory(bench) in the root CMakeLists.txt?)" >&2
    exit 1
fi
WORKER=$BUILD/bin/dcmp-worker
MODULES=$BUILD/tests/modules
if [ ! -x "$BUILD/bin/bench_worker" ] || [ ! -f "$MODULES/testmods.so" ]; then
    echo "run.sh: no bench_worker or tests/modules/testmods.so under $BUILD" >&2
    exit 1
fi

# ---- redis ----
. "$ROOT/bench/redis.sh"
bench_redis_start run.sh

# ---- run ----
mkdir -p "$OUT"
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    echo "H|dcm-processor worker benchmark, $(date '+%Y-%m-%d %H:%M %Z'), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "H|$(nproc) CPUs ($CPU), Linux $(uname -r), redis $(redis-server --version |
        sed -n 's/.*v=\([^ ]*\).*/\1/p') (no persistence), rq $($PY -c 'import rq; print(rq.__version__)')"
    WENV=$(env | grep '^WORKER_' | tr '\n' ' ' || true)
    echo "H|dcmp $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "?"), worker environment: ${WENV:-defaults}; WORKER_EXECUTOR is set per run (pool, fork)"
} >"$RAW"
echo "run.sh: redis on 127.0.0.1:$PORT (pid $REDIS_PID); logs in $TMP (removed at the end)" >&2
# Both executors side by side: the long-lived pool (the default) and one fork per job.
if [ $ONLY_SCHEDULER = 0 ]; then
    for executor in pool fork; do
        [ $ONLY_PYTHON = 0 ] || break
        WORKER_EXECUTOR=$executor "$BUILD/bin/bench_worker" --label "dcmp-$executor" \
            --port "$PORT" --worker "$WORKER" --modules "$MODULES" --dir "$TMP" --jobs "$JOBS" \
            --runs "$RUNS" --redis-pid "$REDIS_PID" >>"$RAW"
    done
    # Python no-op jobs: rq_noop.noop, the function RQ runs below, from MODULES=bench/ (no
    # library of that name: the Python runner); the pool drains as many jobs as RQ. In fork
    # mode every job starts an interpreter (docs/performance.md): PY_FORK_JOBS, RQ_RUNS.
    WORKER_EXECUTOR=pool "$BUILD/bin/bench_worker" --label py-pool --func rq_noop.noop \
        --port "$PORT" --worker "$WORKER" --modules "$ROOT/bench" --dir "$TMP" \
        --jobs "$RQ_JOBS" --runs "$RUNS" --only burst,latency --redis-pid "$REDIS_PID" >>"$RAW"
    WORKER_EXECUTOR=fork "$BUILD/bin/bench_worker" --label py-fork --func rq_noop.noop \
        --port "$PORT" --worker "$WORKER" --modules "$ROOT/bench" --dir "$TMP" \
        --jobs "$PY_FORK_JOBS" --runs "$RQ_RUNS" --only burst,latency \
        --redis-pid "$REDIS_PID" >>"$RAW"
fi
# The scheduler (not with --python).
if [ $ONLY_PYTHON = 0 ]; then
    "$BUILD/bin/bench_scheduler" --port "$PORT" --scheduler "$BUILD/bin/dcmp-scheduler" \
        --modules "$MODULES" --dir "$TMP" --events "${EVENTS:-5000}" --clients 4 \
        --redis-pid "$REDIS_PID" >>"$RAW"
    # The same with the three callbacks in Python (the embedded interpreter in the callback
    # executor), in its own temp dir and on a flushed Redis.
    redis-cli -p "$PORT" FLUSHALL >/dev/null
    mkdir -p "$TMP/python"
    "$BUILD/bin/bench_scheduler" --port "$PORT" --scheduler "$BUILD/bin/dcmp-scheduler" \
        --modules "$MODULES" --dir "$TMP/python" --events "${EVENTS:-5000}" --clients 4 \
        --redis-pid "$REDIS_PID" --python >>"$RAW"
    # The same with every header read from a real 5-slice CT by dcmp-dicom (python3-pydicom's),
    # in its own temp dir and on a flushed Redis.
    CT5N=/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/98892001/CT5N
    if [ -d "$CT5N" ]; then
        redis-cli -p "$PORT" FLUSHALL >/dev/null
        mkdir -p "$TMP/files"
        "$BUILD/bin/bench_scheduler" --port "$PORT" --scheduler "$BUILD/bin/dcmp-scheduler" \
            --modules "$MODULES" --dir "$TMP/files" --events "${EVENTS:-5000}" --clients 4 \
            --redis-pid "$REDIS_PID" --dicom "$CT5N" >>"$RAW"
    else
        echo "run.sh: $CT5N missing (python3-pydicom): no run with headers from files" >&2
    fi
    # And with a real Orthanc holding that CT: every event names it, so the planner asks Orthanc
    # (GET /series/{id}) and claims its LastUpdate; all but the first are duplicates: the cost of
    # deciding from Orthanc rather than from the body, per event.
    if [ -x /usr/sbin/Orthanc ] && [ -d "$CT5N" ]; then
        redis-cli -p "$PORT" FLUSHALL >/dev/null
        mkdir -p "$TMP/orthanc" "$TMP/looked"
        OHTTP=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        ODICOM=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        cat >"$TMP/orthanc/orthanc.json" <<EOF
{"Name": "dcmp-bench", "StorageDirectory": "$TMP/orthanc/storage",
 "IndexDirectory": "$TMP/orthanc/index", "HttpPort": $OHTTP, "DicomPort": $ODICOM,
 "DicomAet": "ORTHANC", "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
 "StableAge": 1, "Plugins": [], "SaveJobs": false}
EOF
        /usr/sbin/Orthanc --logfile="$TMP/orthanc/orthanc.log" "$TMP/orthanc/orthanc.json" \
            >"$TMP/orthanc/out.log" 2>&1 </dev/null &
        ORTHANC_PID=$!
        trap 'kill "$ORTHANC_PID" 2>/dev/null || true; wait "$ORTHANC_PID" 2>/dev/null || true; bench_redis_cleanup' EXIT
        OURL=http://127.0.0.1:$OHTTP
        i=0
        until curl -sf "$OURL/system" >/dev/null; do
            i=$((i + 1))
            [ $i -lt 200 ] || { echo "run.sh: Orthanc did not start" >&2; exit 1; }
            sleep 0.05
        done
        storescu -aec ORTHANC 127.0.0.1 "$ODICOM" "$CT5N"/* >/dev/null
        SID=$(curl -sf "$OURL/series" | tr -d '[]" \n')
        i=0
        until curl -sf "$OURL/series/$SID" | grep -q '"IsStable" : true'; do
            i=$((i + 1))
            [ $i -lt 100 ] || { echo "run.sh: Orthanc never called the series stable" >&2; exit 1; }
            sleep 0.2
        done
        "$BUILD/bin/bench_scheduler" --port "$PORT" --scheduler "$BUILD/bin/dcmp-scheduler" \
            --modules "$MODULES" --dir "$TMP/looked" --events "${EVENTS:-5000}" --clients 4 \
            --redis-pid "$REDIS_PID" --orthanc "$OURL" --orthanc-series "$SID" >>"$RAW"
        kill "$ORTHANC_PID"
        wait "$ORTHANC_PID" 2>/dev/null || true
    else
        echo "run.sh: no Orthanc (or no $CT5N): no run with each event looked up in Orthanc" >&2
    fi
fi
if [ $ONLY_SCHEDULER = 0 ]; then
    $PY "$ROOT/bench/rq_bench.py" --port "$PORT" --dir "$TMP" --jobs "$RQ_JOBS" \
        --runs "$RQ_RUNS" --redis-pid "$REDIS_PID" >>"$RAW"
fi

if [ $PERF = 1 ]; then
    # Every poll() of dcmp-worker and of its job processes during a 1- and a 2-worker burst,
    # grouped by (number of fds, timeout in ms): after the job's pipes closed, the executor
    # waits for the exit in poll(NULL, 0, 2), a sleep that the job's exit does not cut short.
    echo "run.sh: perf: polls of dcmp-worker during a burst of 2 x 2000 jobs" >&2
    perf record -q -a -e syscalls:sys_enter_poll -e syscalls:sys_exit_poll -o "$TMP/perf.data" -- \
        "$BUILD/bin/bench_worker" --port "$PORT" --worker "$WORKER" --modules "$MODULES" \
        --dir "$TMP" --jobs 2000 --only burst >"$TMP/perf-run.txt" 2>/dev/null
    perf script -i "$TMP/perf.data" 2>/dev/null | $PY -c '
import collections, re, sys
began, took = {}, collections.defaultdict(list)
pat = re.compile(r"\s*(\S+)\s+(\d+)\s+\[\d+\]\s+([\d.]+):\s+syscalls:sys_(enter|exit)_poll:\s*(.*)")
for line in sys.stdin:
    m = pat.match(line)
    if not m or m.group(1) != "dcmp-worker":
        continue
    pid, t, what, rest = m.group(2), float(m.group(3)), m.group(4), m.group(5)
    if what == "enter":
        nfds = int(re.search(r"nfds: (0x[0-9a-f]+)", rest).group(1), 16)
        tmo = int(re.search(r"timeout_msecs: (0x[0-9a-f]+)", rest).group(1), 16)
        began[pid] = (t, nfds, tmo if tmo < 0x80000000 else -1)
    elif pid in began:
        t0, nfds, tmo = began.pop(pid)
        took[(nfds, str(tmo) if tmo <= 2 else "3+")].append((t - t0) * 1e6)
for (nfds, tmo), v in sorted(took.items(), key=lambda kv: -sum(kv[1])):
    v.sort()
    print("P|%d|%s|%d|%.0f|%.0f" % (nfds, tmo, len(v), v[len(v) // 2], sum(v) / 1000))
' >>"$RAW"
    sed -n 's/^T|dcmp|/T|dcmp under perf|/p' "$TMP/perf-run.txt" >>"$RAW"
fi

table | tee "$OUT/results.txt"

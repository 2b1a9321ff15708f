#!/usr/bin/env bash
# stack.sh -- the stack's end-to-end latency and image sizes (issue 8), native and Docker mode
# side by side: for RUNS 5-slice CT series sent with storescu to a stack brought up by run.sh
# (temp BASEDIR, free loopback ports, StableAge 1 s, the probe service's two-job chain), the time
# from the last C-STORE (storescu returned) to the last job finished, minus StableAge; split at
# the event's received time: the series found stable (by the scheduler's arrival watch, or
# Orthanc's webhook when EARLY_STABLE=0), then planning, fetching and the jobs. Then the sizes of our images. Prints a table and writes it
# to bench/out/stack.txt. Not a test: nothing is asserted.
#
# Usage: bench/stack.sh [native] [docker]      (default: both; docker only when an engine answers)
# Environment: RUNS (default 20), DCMP_BIN (native: default build/bin, built when missing)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${RUNS:-20}"
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(native docker)
out="$root/bench/out"
mkdir -p "$out"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/dcmp-bench-stack.XXXXXX")"
trap 'rm -rf --one-file-system "$tmp"' EXIT

. "$root/scripts/native/common.sh" # dcmp_pick_port
now_ms() { date +%s%3N; }

# stats NAME FILE: median, p90 and max of the numbers in FILE (one per line)
stats() {
  sort -n "$2" | awk -v name="$1" '{ v[NR] = $1 } END {
    if (NR == 0) { printf "  %-52s %8s\n", name, "no data"; exit }
    printf "  %-52s %8.0f %8.0f %8.0f\n", name, v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR] }'
}

result="$out/stack.txt"
{
  echo "dcm-processor stack benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null)"
  echo "$(nproc) CPUs, load before: $(cut -d' ' -f1-3 /proc/loadavg); $runs series of 5 slices per mode, StableAge 1 s"
  echo
  printf '  %-52s %8s %8s %8s\n' "ms (median, p90, max)" median p90 max
} > "$result"

for mode in "${modes[@]}"; do
  if [ "$mode" = docker ] && ! timeout 10 docker info >/dev/null 2>&1; then
    echo "  docker: skipped (no Docker engine answers)" >> "$result"
    continue
  fi
  base="$tmp/$mode"
  export BASEDIR="$base"
  for v in REDIS_PORT ORTHANC_HTTP_PORT ORTHANC_DICOM_PORT SCHEDULER_PORT DASHBOARD_PORT; do
    dcmp_pick_port "$v"
  done
  export STABLE_AGE=1 LOG_LEVEL=warn COMPOSE_PROJECT_NAME="dcmpbench$$" DCMP_ENV="$root/.env.example"
  # an open stack, as measured before the logins were generated (set empty: run.sh keeps
  # those parts open and says so; the shipped template is never written)
  export REDIS_PSWD= WEBHOOK_TOKEN= ORTHANC_REST_USERNAME= ORTHANC_REST_PASSWORD= DASHBOARD_USER= DASHBOARD_PASSWORD=
  export ANONYMIZER_SECRET="bench-secret-$RANDOM$RANDOM$RANDOM"
  echo "bench/stack.sh: $mode: bringing the stack up in $base" >&2
  if ! ./run.sh "--$mode" > "$tmp/$mode-up.log" 2>&1; then
    tail -20 "$tmp/$mode-up.log" >&2
    echo "  $mode: run.sh failed" >> "$result"
    continue
  fi
  ./service.sh install probe -p tests/e2e/probe > "$tmp/$mode-install.log" 2>&1 ||
    { tail -20 "$tmp/$mode-install.log" >&2; ./run.sh down >/dev/null 2>&1; continue; }
  rc() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
  : > "$tmp/total" ; : > "$tmp/orthanc" ; : > "$tmp/ours"
  for ((i = 1; i <= runs; i++)); do
    tests/e2e/make_series.sh "$tmp/s$i" 5 "BENCH $i" "BENCH-$mode-$i" >/dev/null
    storescu -aec ORTHANC 127.0.0.1 "$ORTHANC_DICOM_PORT" "$tmp/s$i"/*.dcm || continue
    stored="$(now_ms)"
    uid="$(dcmdump +P 0020,000e "$tmp/s$i/slice1.dcm" | sed -E 's/.*\[(.*)\].*/\1/')"
    sid=""
    for ((k = 0; k < 600; k++)); do
      [ -n "$sid" ] || sid="$(curl -s -X POST "http://127.0.0.1:$ORTHANC_HTTP_PORT/tools/lookup" -d "$uid" |
        python3 -c 'import json,sys; r=[x["ID"] for x in json.load(sys.stdin) if x["Type"]=="Series"]; print(r[0] if r else "")')"
      [ -n "$sid" ] && [ -s "$base/data/probe/$sid/probe-b.json" ] && break
      sleep 0.05
    done
    rec="$base/data/probe/$sid/probe-b.json"
    [ -s "$rec" ] || { echo "bench/stack.sh: series $i not processed" >&2; continue; }
    jb="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobId"])' "$rec")"
    # probe-b runs after probe-a: its end is the last job's end
    for ((k = 0; k < 100; k++)); do
      ended="$(rc hget "dcmp:job:$jb" ended)"
      [ -n "$ended" ] && [ "$ended" != 0 ] && break
      sleep 0.02
    done
    ev="$(rc hget "dcmp:job:$jb" event)"
    received="$(rc hget "dcmp:event:$ev" received)"
    echo $((ended - stored - 1000)) >> "$tmp/total"
    echo $((received - stored)) >> "$tmp/orthanc"
    echo $((ended - received)) >> "$tmp/ours"
  done
  {
    stats "$mode: last C-STORE to last job, minus StableAge" "$tmp/total"
    stats "$mode:   last C-STORE to the event (stable)" "$tmp/orthanc"
    stats "$mode:   the event to last job finished" "$tmp/ours"
  } >> "$result"
  ./run.sh down > "$tmp/$mode-down.log" 2>&1
done

if timeout 10 docker info >/dev/null 2>&1; then
  {
    echo
    echo "  images (docker image ls)"
    for img in scheduler worker orthanc redis dashboard; do
      size="$(docker image ls --format '{{.Size}}' "dcm-processor/$img:latest" 2>/dev/null | head -1)"
      [ -z "$size" ] || printf '  %-52s %8s\n' "dcm-processor/$img" "$size"
    done
  } >> "$result"
fi
cat "$result"

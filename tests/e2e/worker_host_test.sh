#!/usr/bin/env bash
# worker_host_test.sh -- a worker-only host (run.sh worker --redis HOST:PORT) drains the jobs of
# a running stack, natively or with Docker, through the real interfaces: run.sh brings the
# central stack up with
# no worker of its own (--scale worker=0) in a temp BASEDIR on free loopback ports; storescu
# sends python3-pydicom's CT5N series, whose jobs wait in Redis; a second BASEDIR with settings
# of its own (the central Redis' password in a REDIS_PSWD_FILE, Orthanc's login, the
# anonymizer's secret, DATA and MODULES pointing at the central stack's: the shared mount)
# starts two workers with `run.sh worker --redis 127.0.0.1:PORT`, which run every job; then
# `run.sh worker down` stops them. Natively also: Redis listens on loopback only by default, and
# a REDIS_BIND beyond loopback without a password is refused before anything starts. With
# Docker the central stack publishes Redis and Orthanc on the docker0 bridge's address
# (REDIS_BIND, ORTHANC_BIND: beyond loopback), the worker host's BASEDIR has data/ and modules/
# as links to the central ones (the shared mount), and `run.sh worker --docker` runs the worker
# containers on the host's network. (The namespace hosts of tests/hosts cover a real link.)
#
# Usage: tests/e2e/worker_host_test.sh native|docker
# Environment: DCMP_BIN (the programs; default build/bin), DCMP_REQUIRE_DOCKER=1 (docker: fail
# instead of skipping when no engine answers), DCMP_KEEP=1 (keep the temp folder).
# Exit status: 0 passed, 1 failed, 77 skipped.
set -uo pipefail
mode="${1:-}"
case "$mode" in native|docker) ;; *) echo "usage: worker_host_test.sh native|docker" >&2; exit 2 ;; esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
test_name="worker_host_test[$mode]"
. "$root/tests/e2e/check.sh" # say, check, $failures, wait_for, need_docker
raddr=127.0.0.1 # where the central Redis and Orthanc are reached
if [ "$mode" = docker ]; then
  need_docker
  raddr="$(docker network inspect bridge -f '{{(index .IPAM.Config 0).Gateway}}')"
  [ -n "$raddr" ] || { say "FAIL no address of Docker's default bridge"; exit 1; }
fi
need_programs storescu redis-cli curl ss
ct5n=/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/98892001/CT5N
[ -d "$ct5n" ] || { say "FAIL $ct5n missing: install python3-pydicom"; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/dcmp-workerhost.XXXXXX")"
. "$root/scripts/native/common.sh" # dcmp_pick_port, dcmp_pid_alive
pick_stack_ports
export STABLE_AGE=1 LOG_LEVEL=info DCMP_BIN="${DCMP_BIN:-$root/build/bin}"
central="$tmp/central" hostb="$tmp/hostb"
mkdir -m 700 "$central" "$hostb"
(umask 077 && cp .env.example "$tmp/central.env" && cp .env.example "$tmp/open.env")
# cen ARGS...: run.sh of the central stack; hb ARGS...: run.sh of the worker host
cen() {
  BASEDIR="$central" DCMP_ENV="$tmp/central.env" COMPOSE_PROJECT_NAME="dcmpwhc$$" \
    REDIS_BIND="$raddr" ORTHANC_BIND="$raddr" ./run.sh "$@"
}
hb() { BASEDIR="$hostb" DCMP_ENV="$tmp/host.env" COMPOSE_PROJECT_NAME="dcmpwhh$$" ./run.sh "$@"; }
rcli() { redis-cli -h "$raddr" -p "$REDIS_PORT" --no-auth-warning "$@"; }

finish() {
  local rc=$?
  hb worker down >"$tmp/down-at-exit.log" 2>&1 || true
  cen down >>"$tmp/down-at-exit.log" 2>&1 || true
  if [ $failures -gt 0 ] || [ "${DCMP_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
    say "kept $tmp (logs: $central/logs, $hostb/logs)"
  else
    rm -rf --one-file-system "$tmp"
  fi
}
trap finish EXIT

# ---- beyond loopback only with a password, said before anything starts ----
if [ "$mode" = native ]; then
  BASEDIR="$tmp/open" DCMP_ENV="$tmp/open.env" REDIS_BIND=0.0.0.0 REDIS_PSWD='' \
    ./run.sh --native >"$tmp/open.log" 2>&1
  check "REDIS_BIND=0.0.0.0 without a password refused (exit 2), named" \
    test $? = 2 -a -n "$(grep 'REDIS_BIND=0.0.0.0 opens Redis' "$tmp/open.log")"
  check "nothing started for it" test ! -e "$tmp/open/run/redis.pid"
fi

# ---- the central stack, no worker of its own ----
if ! cen "--$mode" --scale worker=0 >"$tmp/central.log" 2>&1; then
  cat "$tmp/central.log"
  say "FAIL the central stack did not come up"
  exit 1
fi
export REDISCLI_AUTH
REDISCLI_AUTH="$(sed -n 's/^REDIS_PSWD=//p' "$tmp/central.env" | tail -n 1)"
check "the central Redis listens on $raddr only (REDIS_BIND)" \
  test "$(ss -Hltn "sport = :$REDIS_PORT" | awk '{print $4}' | sort -u)" = "$raddr:$REDIS_PORT"
check "no worker registered centrally" test -z "$(rcli smembers dcmp:workers)"

# jobs queued: the list of every queue that has jobs waiting
queued() { rcli --scan --pattern 'dcmp:queue:*' | while read -r k; do rcli llen "$k"; done | awk '{n+=$1} END {exit !(n>0)}'; }
storescu -aec ORTHANC "$raddr" "$ORTHANC_DICOM_PORT" "$ct5n"/* || say "FAIL storescu of CT5N"
check "CT5N's jobs wait in Redis (no worker runs them)" wait_for 60 queued

# ---- the worker host: its own BASEDIR, the central stack's DATA and MODULES ----
(
  umask 077
  printf '%s\n' "$REDISCLI_AUTH" >"$tmp/redis.pass"
  {
    echo "BASEDIR=$hostb"
    if [ "$mode" = native ]; then
      echo "DATA=$central/data"
      echo "MODULES=$central/modules"
    fi
    echo "REDIS_PSWD_FILE=$tmp/redis.pass"
    echo "WORKER_HOST_NAME=hostb"
    grep -E '^(ORTHANC_REST_USERNAME|ORTHANC_REST_PASSWORD|ANONYMIZER_SECRET)=' "$tmp/central.env"
  } >"$tmp/host.env"
)
# with Docker the BASEDIR layout is mounted: DATA a link to the shared folder (Docker mounts
# where it points), MODULES a copy (the same versions: a link inside the mounted BASEDIR would
# point nowhere in the container)
if [ "$mode" = docker ]; then
  ln -s "$central/data" "$hostb/data"
  cp -a "$central/modules" "$hostb/modules"
fi
check "run.sh worker without --redis: usage error" bash -c "BASEDIR='$hostb' DCMP_ENV='$tmp/host.env' ./run.sh worker >/dev/null 2>&1; test \$? = 2"
if ! hb worker "--$mode" --redis "$raddr:$REDIS_PORT" --scale worker=2 >"$tmp/host.log" 2>&1; then
  cat "$tmp/host.log"
  say "FAIL run.sh worker did not start"
  exit 1
fi
hosts_workers() { rcli smembers dcmp:workers | grep '^hostb-' | sort; }
if [ "$mode" = native ]; then
  check "run.sh worker registered hostb-worker-1 and -2 in the central Redis" \
    test "$(hosts_workers | tr '\n' ' ')" = "hostb-worker-1 hostb-worker-2 "
else
  check "run.sh worker registered two hostb-XXXXXXXX workers in the central Redis" \
    test "$(hosts_workers | grep -c '^hostb-[0-9a-f]\{8\}$')" = 2
fi
check "no other worker in the central Redis" test "$(rcli scard dcmp:workers)" = 2
check "run.sh worker status" hb worker status

count() { # count STATE: jobs in that state's registries, over every queue
  rcli --scan --pattern "dcmp:reg:*:$1" | while read -r k; do rcli zcard "$k"; done | awk '{n+=$1} END {print n+0}'
}
drained() {
  ! queued && [ "$(count started)" = 0 ] && [ "$(count deferred)" = 0 ] &&
    [ "$(count scheduled)" = 0 ] && [ "$(count finished)" -gt 0 ]
}
check "the worker host ran every job of the series" wait_for 120 drained
if [ "$failures" -gt 0 ] && [ "$mode" = docker ]; then
  for c in $(docker ps -aq --filter "label=com.docker.compose.project=dcmpwhh$$"); do docker logs --tail 15 "$c"; done
fi
processed=0
for w in $(hosts_workers); do
  n="$(rcli hget "dcmp:worker:$w" processed)"
  processed=$((processed + ${n:-0}))
done
check "no job failed" test "$(count failed)" = 0
check "every finished job ran on the worker host ($processed of $(count finished))" \
  test "$processed" = "$(count finished)"
check "the jobs' files landed in the shared DATA" test -n "$(ls -A "$central/data")"

# ---- down: the host's workers only ----
check "run.sh worker down" hb worker down
check "its workers left Redis" wait_for 20 test -z "$(rcli smembers dcmp:workers)"
left=0
for f in "$hostb"/run/worker-*.pid; do
  [ -e "$f" ] || continue
  dcmp_pid_alive "$f" "$DCMP_BIN/dcmp-worker" >/dev/null && left=$((left + 1))
done
check "no worker process left" test "$left" = 0
if [ "$mode" = docker ]; then
  check "no worker container left" test -z "$(docker ps -aq --filter "label=com.docker.compose.project=dcmpwhh$$")"
fi
check "the central Redis still answers" test "$(rcli ping)" = PONG

[ "$failures" -eq 0 ] || { tail -n 20 "$hostb"/logs/*.log; exit 1; }
say "passed"

#!/usr/bin/env bash
# swarm_test.sh -- the stack on a real single-node Docker Swarm, through run.sh: the engine made a
# swarm manager (docker swarm init, on loopback) only when it is not in a swarm already, and left
# at the end only then; `run.sh --swarm` deploys the stack (docker stack deploy) in a temp
# BASEDIR of another uid on free ports; Redis and the scheduler are not published and the
# dashboard refuses a request without its login; python3-pydicom's CT5N series is sent with
# storescu and its jobs run; `run.sh --swarm --scale worker=3` gives three live workers; `run.sh
# down` leaves no service, container, network, config, secret or volume of the stack. The
# images are built with DCMP_IMAGE_TAG (default latest): those of an earlier test of the run
# are reused from the layer cache.
#
# Usage: tests/e2e/swarm_test.sh
# Environment: DCMP_REQUIRE_DOCKER=1 (fail instead of skipping when no engine answers; CI sets
# it), DCMP_IMAGE_TAG, DCMP_KEEP=1 (keep the temp folder).
# Exit status: 0 passed, 1 failed, 77 skipped (CTest's SKIP_RETURN_CODE).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
test_name=swarm_test
. "$root/tests/e2e/check.sh" # say, check, $failures, wait_for, need_docker
need_docker
need_programs storescu curl
ct5n=/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/98892001/CT5N
[ -d "$ct5n" ] || { say "FAIL $ct5n missing: install python3-pydicom"; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/dcmp-swarm.XXXXXX")"
. "$root/scripts/native/common.sh" # dcmp_pick_port
export BASEDIR="$tmp/base" DCMP_ENV="$tmp/env" COMPOSE_PROJECT_NAME="dcmpswarm$$" STABLE_AGE=1
pick_stack_ports SWARM_PORT
stack="$COMPOSE_PROJECT_NAME"
. "$root/tests/e2e/swarm_lib.sh" # stack_rcli, stack_live_workers
mkdir -m 700 "$BASEDIR"
(umask 077 && cp .env.example "$DCMP_ENV")
if [ "$(id -u)" = 0 ]; then # the containers run as BASEDIR's owner, not root
  chown 4321:4321 "$BASEDIR" "$DCMP_ENV"
fi

inited=0 up=0
finish() {
  local rc=$?
  [ "$up" = 0 ] || ./run.sh down >"$tmp/down-at-exit.log" 2>&1 || true
  if [ "$inited" = 1 ]; then
    # leaving removes the ingress network, not the bridge init made for its tasks
    docker swarm leave --force >/dev/null 2>&1 || say "FAIL docker swarm leave --force"
    [ "$gwbridge" = 1 ] || docker network rm docker_gwbridge >/dev/null 2>&1 ||
      say "FAIL docker network rm docker_gwbridge"
  fi
  if [ $failures -gt 0 ] || [ "${DCMP_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
    say "kept $tmp"
  else
    rm -rf --one-file-system "$tmp"
  fi
}
trap finish EXIT

# ---- a swarm manager: made here only when the engine is in no swarm ----
state="$(docker info -f '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')"
gwbridge=0 # docker_gwbridge (made by swarm init) there before this test
docker network inspect docker_gwbridge >/dev/null 2>&1 && gwbridge=1
case "$state" in
  "inactive "*)
    if ! docker swarm init --advertise-addr 127.0.0.1 --listen-addr "127.0.0.1:$SWARM_PORT" >"$tmp/init.log" 2>&1; then
      cat "$tmp/init.log"
      say "FAIL docker swarm init"
      exit 1
    fi
    inited=1
    say "made the engine a single-node swarm (left at the end)" ;;
  "active true") say "the engine is a swarm manager already (left as it is)" ;;
  *) say "FAIL the engine is in a swarm but not a manager ($state): run it on a manager"; exit 1 ;;
esac

# ---- up ----
up=1
if ! ./run.sh --swarm >"$tmp/up.log" 2>&1; then
  grep -v '^ --->\|^Step \|Using cache' "$tmp/up.log" | tail -n 40
  say "FAIL run.sh --swarm"
  exit 1
fi
check "run.sh --swarm: mode swarm recorded" test "$(cat "$BASEDIR/run/mode")" = swarm
check "run.sh status: every service runs" ./run.sh status
check "the stack's task containers carry its label (what down checks by)" \
  test -n "$(docker ps -q --filter "label=com.docker.stack.namespace=$stack")"
check "the stack file with the secrets removed after the deploy" test ! -e "$BASEDIR/run/swarm-stack.json"
published() { docker service inspect -f '{{range .Endpoint.Ports}}{{.PublishedPort}} {{end}}' "${stack}_$1"; }
check "Redis and the scheduler not published" test -z "$(published redis_server)$(published scheduler)"
check "Orthanc's DICOM and HTTP ports published" test "$(published orthanc | wc -w)" = 2
code="$(curl -s -o /dev/null -w '%{http_code}' -m 10 "http://127.0.0.1:$DASHBOARD_PORT/api/queues")"
check "the dashboard refuses a request without its login ($code)" test "$code" = 401
code="$(curl -s -o /dev/null -w '%{http_code}' -m 10 "http://127.0.0.1:$ORTHANC_HTTP_PORT/system")"
check "Orthanc refuses a request without its login ($code)" test "$code" = 401

rcli() { stack_rcli docker "$@"; } # tests/e2e/swarm_lib.sh

# ---- a series through storescu, its jobs run by the swarm's worker ----
storescu -aec ORTHANC 127.0.0.1 "$ORTHANC_DICOM_PORT" "$ct5n"/* || say "FAIL storescu of CT5N"
finished() { test "$(rcli zcard dcmp:reg:default:finished)" -ge 3; }
check "CT5N's jobs finished (anonymizer, storage, cleaner)" wait_for 120 finished
check "none failed" test "$(rcli zcard dcmp:reg:default:failed)" = 0

# ---- three workers ----
if ! ./run.sh --swarm --scale worker=3 >"$tmp/scale.log" 2>&1; then
  grep -v '^ --->\|^Step \|Using cache' "$tmp/scale.log" | tail -n 20
  say "FAIL run.sh --swarm --scale worker=3"
fi
check "three worker tasks running" test "$(docker service ls --filter "name=${stack}_worker" --format '{{.Replicas}}')" = 3/3
check "three live workers in Redis" wait_for 60 stack_live_workers docker 3

# ---- down: nothing of the stack left ----
check "run.sh down" ./run.sh down
up=0
for kind in service network config secret volume; do
  check "no $kind of the stack left" test -z "$(docker "$kind" ls -q --filter "label=com.docker.stack.namespace=$stack")"
done
check "no container of the stack left" test -z "$(docker ps -aq --filter "label=com.docker.stack.namespace=$stack")"
check "the mode record removed" test ! -e "$BASEDIR/run/mode"

[ "$failures" -eq 0 ] || exit 1
say "passed"

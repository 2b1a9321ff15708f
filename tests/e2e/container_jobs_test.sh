#!/usr/bin/env bash
# container_jobs_test.sh -- container jobs in Docker mode (issue 13, docs/containers.md): run.sh
# brings the Docker stack up with CONTAINER_JOBS=1 in a temp BASEDIR owned by another uid (with
# root: the workers' non-root user reaches the engine's socket through its group, which run.sh
# adds) and says what the socket means; a service whose entry is a container image (built here
# FROM the base image) is installed and validated with service.sh; a series sent with storescu
# runs it to `finished`, its output under DATA on the host (the engine was given host paths),
# copied by a Python job after it before systemcleaner removes the job's folder, which it does.
# Then the same stack with CONTAINER_JOBS=0: validate and the job fail naming CONTAINER_JOBS.
#
# Usage: tests/e2e/container_jobs_test.sh
# Environment: DCMP_REQUIRE_DOCKER=1 (fail instead of skipping when no engine answers),
# DCMP_KEEP=1 (keep the temp folder), DCMP_IMAGE_TAG (the stack's images).
# Exit status: 0 passed, 1 failed, 77 skipped.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
test_name="container_jobs_test"
. "$root/tests/e2e/check.sh" # say, check, wait_for, need_docker
need_docker
need_programs storescu dump2dcm curl
py=/usr/bin/python3
[ -x "$py" ] || { say "FAIL $py is not installed"; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/dcmp-e2e-ctr.XXXXXX")"
. "$root/scripts/native/common.sh" # dcmp_pick_port, dcmp_curl_login
export BASEDIR="$tmp/base"
pick_stack_ports
export STABLE_AGE=1 CATCHUP_INTERVAL=2s LOG_LEVEL=info COMPOSE_PROJECT_NAME="dcmpctr$$"
cp .env.example "$tmp/env"
export DCMP_ENV="$tmp/env"
# BASEDIR owner-only and, with root, another uid's: the containers run as that uid
stack_uid="$(id -u)"
mkdir -m 700 "$BASEDIR"
if [ "$stack_uid" = 0 ]; then
  stack_uid=4321
  chown "$stack_uid:$stack_uid" "$BASEDIR" "$tmp/env"
fi
image="dcmp-ctr-jobs-e2e:${DCMP_IMAGE_TAG:-test}" # not container_test.sh's: the two may run at once

finish() {
  local rc=$?
  [ "${stack_up:-0}" != 1 ] || ./run.sh down --docker >"$tmp/down-at-exit.log" 2>&1 || true
  if [ $failures -gt 0 ] || [ "${DCMP_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
    say "kept $tmp"
  else
    rm -rf --one-file-system "$tmp"
  fi
}
trap finish EXIT

# ---- the image: the dcmp interface, FROM the base image ----
scripts/base-image.sh >"$tmp/base-image.log" 2>&1 || { cat "$tmp/base-image.log"; say "FAIL base image"; exit 1; }
mkdir -p "$tmp/image"
cat >"$tmp/image/entry.sh" <<'SH'
#!/bin/sh
echo "container job ran as $(id -u)"
printf '%s' "$DCMP_KWARGS" > /out/kwargs.json
ls /data/containers > /out/data-listing 2>&1 || true
SH
chmod 755 "$tmp/image/entry.sh" # COPY keeps the mode: readable by the container's user
printf 'FROM debian:bookworm-slim\nCOPY entry.sh /entry.sh\nENTRYPOINT ["/bin/sh", "/entry.sh"]\n' >"$tmp/image/Dockerfile"
check "test image built" docker build -q -t "$image" "$tmp/image"

# ---- the service: a Python callback, a container image as its job, run as DATA's owner
# (DATA is owner-only) ----
mkdir -p "$tmp/ctrsvc/registry" "$tmp/ctrsvc/module"
cat >"$tmp/ctrsvc/registry/__init__.py" <<'PY'
"""ctrsvc -- the container job test's callback: every series."""


def callback(jobName, headers, params, added_params, **kwargs):
    return True
PY
printf '# ctrsvc: its job is a container image\n' >"$tmp/ctrsvc/module/README"
# ctrcopy, after it, copies the container's output out of its folder, which systemcleaner
# removes at the end of the series' pipeline (docs/containers.md, "Life cycle")
cat >"$tmp/ctrsvc/module/__init__.py" <<'PY'
"""ctrsvc -- the container job test's Python job: keeps what the image wrote."""
import os
import shutil


def copy(jobName, headers, params, added_params, **kwargs):
    data = os.environ["DATA"]
    folder = added_params["ctrjob"]["deleted"][0]
    dst = os.path.join(data, "ctrseen", os.path.basename(folder))
    shutil.copytree(os.path.join(data, folder, "out"), dst)
    return {"copied": dst}
PY
cat >"$tmp/ctrsvc/registry/settings.json" <<JSON
[{"jobName": "ctrjob", "callback": "ctrsvc.callback", "timeout": "120s",
  "container": {"image": "$image", "user": "$stack_uid:$stack_uid"}},
 {"jobName": "ctrcopy", "worker": "ctrsvc.copy", "callback": "ctrsvc.callback",
  "dependsOn": "ctrjob", "timeout": "120s"}]
JSON

# set_setting NAME VALUE: the line NAME= of the settings file, as a user edits .env (written in
# place: the file keeps its owner and mode)
set_setting() {
  local text
  text="$(sed "s/^$1=.*/$1=$2/" "$tmp/env")"
  printf '%s\n' "$text" >"$tmp/env"
}

# ---- CONTAINER_JOBS=1 ----
stack_up=1
set_setting CONTAINER_JOBS 1
check "the settings say CONTAINER_JOBS=1" grep -qx "CONTAINER_JOBS=1" "$tmp/env"
if ! ./run.sh --docker >"$tmp/run1.log" 2>&1; then
  cat "$tmp/run1.log"
  say "FAIL run.sh --docker with CONTAINER_JOBS=1"
  exit 1
fi
check "run.sh says the socket is root on the host" grep -q "is root on this host" "$tmp/run1.log"
for v in REDIS_PSWD ORTHANC_REST_USERNAME ORTHANC_REST_PASSWORD DASHBOARD_USER DASHBOARD_PASSWORD; do
  export "$v=$(sed -n "s/^$v=//p" "$tmp/env" | tail -n 1)"
done
dash() {
  dcmp_curl_login "${DASHBOARD_USER:-}" "${DASHBOARD_PASSWORD:-}" |
    curl -K - -s -f -m 10 "http://127.0.0.1:$DASHBOARD_PORT$1"
}
series_id() {
  dcmp_curl_login "$ORTHANC_REST_USERNAME" "$ORTHANC_REST_PASSWORD" |
    curl -K - -s -f -m 10 -X POST "http://127.0.0.1:$ORTHANC_HTTP_PORT/tools/lookup" -d "$1" |
    "$py" -c 'import json,sys; print([r["ID"] for r in json.load(sys.stdin) if r["Type"]=="Series"][0])'
}
# job_field SERIES FIELD: ctrjob's FIELD (state, error, id) for this series, from the dashboard
job_field() {
  dash "/api/jobs?series=$1" | "$py" -c '
import json, sys
j = [j for j in json.load(sys.stdin)["jobs"] if j["jobName"] == "ctrjob"]
print(j[0][sys.argv[1]] if j else "")' "$2"
}
job_done() { case "$(job_field "$1" state)" in finished|failed) return 0 ;; esac; return 1; }
# send_series DIR DESCRIPTION: a generated 5-slice CT series sent with storescu; prints its id
send_series() {
  local uid
  tests/e2e/make_series.sh "$1" 5 "$2" "CTR$$" >/dev/null || return 1
  storescu -aec "${ORTHANC_AET:-ORTHANC}" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$1"/* || return 1
  uid="$(dcmdump +P 0020,000e "$(ls "$1"/* | head -1)" | sed -E 's/.*\[(.*)\].*/\1/' | head -1)"
  wait_for 30 series_id "$uid" && series_id "$uid"
}

check "service.sh install ctrsvc (its image checked with the engine)" \
  ./service.sh install ctrsvc -p "$tmp/ctrsvc"
sid="$(send_series "$tmp/s1" "CTR ONE")"
check "Orthanc has the first series" test -n "$sid"
wait_for 240 job_done "$sid"
check "the container job finished (CONTAINER_JOBS=1)" test "$(job_field "$sid" state)" = finished
jid="$(job_field "$sid" id)"
out="$BASEDIR/data/ctrseen/$jid" # DATA/containers/<jid>/out, copied by ctrcopy
wait_for 120 test -s "$out/data-listing"
check "its output is under DATA on the host" grep -q "\"seriesId\":\"$sid\"" "$out/kwargs.json"
check "the engine was given DATA's host path (the image saw DATA's containers/)" \
  grep -qx "$jid" "$out/data-listing"
[ "$(job_field "$sid" state)" = finished ] || dash "/api/jobs/$jid"
check "no container of the job left" test -z "$(docker ps -aq --filter "label=dcmp.job=$jid")"
check "systemcleaner removed the job's folder DATA/containers/$jid" \
  wait_for 120 test ! -e "$BASEDIR/data/containers/$jid"
./run.sh down --docker >"$tmp/down1.log" 2>&1 || { cat "$tmp/down1.log"; say "FAIL run.sh down"; }

# ---- CONTAINER_JOBS=0 (the default): no socket, a clear error ----
set_setting CONTAINER_JOBS 0
if ! ./run.sh --docker >"$tmp/run0.log" 2>&1; then
  cat "$tmp/run0.log"
  say "FAIL run.sh --docker with CONTAINER_JOBS=0"
  exit 1
fi
check "run.sh says container jobs are off" grep -q "container jobs off (CONTAINER_JOBS=0)" "$tmp/run0.log"
./service.sh validate ctrsvc >"$tmp/validate0.log" 2>&1
check "service.sh validate: no engine, naming CONTAINER_JOBS" \
  grep -q "no docker engine.*CONTAINER_JOBS=0" "$tmp/validate0.log"
sid="$(send_series "$tmp/s2" "CTR TWO")"
check "Orthanc has the second series" test -n "$sid"
wait_for 240 job_done "$sid"
check "the container job failed (CONTAINER_JOBS=0)" test "$(job_field "$sid" state)" = failed
err="$(job_field "$sid" error)"
say "its error: $err"
check "the error says no docker engine and names CONTAINER_JOBS" \
  bash -c '[[ "$1" == *"no docker engine"*"CONTAINER_JOBS=0"* ]]' _ "$err"

[ $failures -eq 0 ] || { say "$failures check(s) failed"; exit 1; }
say "passed"

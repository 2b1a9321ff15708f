#!/usr/bin/env bash
# stack_test.sh -- the whole stack end to end, in native or Docker mode, through its real
# interfaces: run.sh (the README's command) brings it up in a temp BASEDIR on free loopback
# ports and runs init.sh; service.sh builds and installs the probe service
# (tests/e2e/probe, sources); storescu sends a real CT series (python3-pydicom's CT5N) and a
# generated 20-slice CT series to Orthanc, whose Lua script posts them to the scheduler, which
# fetches them, reads their headers with DCMTK and plans the probe's jobs, which workers run;
# the probe records what each job got and the test checks it. The shipped services run too
# (init.sh installs base, dcm2nii and temp; service.sh the Python template pytemp, whose Python
# callback and Python worker write the series as a NIfTI): the series is anonymized in place,
# converted to NIfTI, both NIfTIs and temp's PDF are stored back in Orthanc with the DCM-PROCESSOR private
# block (natively also forwarded to a storescp registered as their destination), the working
# files are cleaned, and the results are not processed again. Then `run.sh --scale worker=3`
# gives three workers that run three jobs at once (a barrier only three parallel jobs pass); a
# series sent while the scheduler is stopped is processed after it starts again (catch-up);
# `run.sh down` leaves no process or container behind.
# Hardening (issue 17): the settings are the shipped template copied by hand (mode 644): run.sh
# makes the file owner-only and generates every login into it (Redis, Orthanc, webhook token,
# dashboard), which the test then finds in force; BASEDIR is made mode 700 beforehand (with
# Docker, as root: owned by another uid, which every container must run as); nothing under
# BASEDIR is readable by others once the stack ran; the process table, read over and over while
# the stack runs, never shows a secret; a folder of another owner is a clear error from run.sh
# before anything starts; with Docker, the same BASEDIR then runs natively (as its owner) and
# with Docker again, a series processed each time.
#
# Usage: tests/e2e/stack_test.sh native|docker
# Environment: DCMP_BIN (native: the programs to run; default build/bin), DCMP_REQUIRE_DOCKER=1
# (docker: fail instead of skipping when no engine answers; CI sets it), DCMP_KEEP=1 (keep the
# temp folder). Exit status: 0 passed, 1 failed, 77 skipped (CTest's SKIP_RETURN_CODE).
set -uo pipefail
mode="${1:-}"
case "$mode" in native|docker) ;; *) echo "usage: stack_test.sh native|docker" >&2; exit 2 ;; esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

test_name="stack_test[$mode]"
. "$root/tests/e2e/check.sh" # say, check, $failures

[ "$mode" != docker ] || need_docker
need_programs storescu dump2dcm redis-cli curl
# Debian's python3, whatever python3 comes first on PATH (a pyenv shim may, without Debian's
# packages): the test's helpers run with it, as the stack's Python services do
py=/usr/bin/python3
[ -x "$py" ] || { say "FAIL $py is not installed (scripts/packages/test.txt)"; exit 1; }
ct5n=/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/98892001/CT5N
[ -d "$ct5n" ] || { say "FAIL $ct5n missing: install python3-pydicom"; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/dcmp-e2e-$mode.XXXXXX")"
. "$root/scripts/native/common.sh" # dcmp_pick_port
export BASEDIR="$tmp/base"
pick_stack_ports
export STABLE_AGE=1 CATCHUP_INTERVAL=2s LOG_LEVEL=info
export INIT_SERVICES="base dcm2nii temp"
if [ "$mode" = native ]; then
  # the DICOM node results are forwarded to: a storescp on loopback, started below
  dcmp_pick_port SCP_PORT
  export DICOM_MODALITIES="DEST=DESTSCP@127.0.0.1:$SCP_PORT" ORTHANC_DEFUALT_STORE=DEST
fi
export COMPOSE_PROJECT_NAME="dcmpe2e$$"
# the shipped template copied by hand, as a user would (mode 644): run.sh makes it owner-only and
# writes the stack's secrets into it
cp .env.example "$tmp/env"
chmod 644 "$tmp/env"
export DCMP_ENV="$tmp/env"
# the native programs (with Docker: for the native run on the same BASEDIR at the end)
export DCMP_BIN="${DCMP_BIN:-$root/build/bin}"
# BASEDIR owner-only from the start (a hardened site's umask 077, or mktemp -d). With Docker, as
# root: owned by another uid, which every container must then run as (run.sh's and init.sh's
# own files handed to it too); natively the daemons run as the caller, its owner.
stack_uid="$(id -u)"
mkdir -m 700 "$BASEDIR"
if [ "$mode" = docker ] && [ "$stack_uid" = 0 ]; then
  stack_uid=4321
  chown "$stack_uid:$stack_uid" "$BASEDIR" "$tmp/env"
  chmod 711 "$tmp" # the native run as that user reaches BASEDIR and the settings
fi
# as_owner CMD...: CMD as BASEDIR's owner (natively the daemons run as the caller)
as_owner() {
  if [ "$stack_uid" = "$(id -u)" ]; then
    "$@"
  else
    mkdir -p "$tmp/tmp-$stack_uid" && chown "$stack_uid" "$tmp/tmp-$stack_uid"
    TMPDIR="$tmp/tmp-$stack_uid" setpriv --reuid="$stack_uid" --regid="$stack_uid" --clear-groups -- "$@"
  fi
}
say "BASEDIR $BASEDIR; ports redis $REDIS_PORT, orthanc $ORTHANC_HTTP_PORT/$ORTHANC_DICOM_PORT, scheduler $SCHEDULER_PORT"

finish() {
  local rc=$?
  [ -z "${ps_pid:-}" ] || touch "$tmp/ps.stop"
  [ -z "${attack_pid:-}" ] || touch "$tmp/attack.stop"
  [ -z "${scp_pid:-}" ] || kill -TERM "$scp_pid" 2>/dev/null
  stack_finish "$rc" "$mode"
}
trap finish EXIT

# Every login reaches its client by environment or stdin, never on a command line (the test
# reads the process table for them). The values are read from the settings after run.sh.
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning "$@"; }
orthanc() {
  dcmp_curl_login "${ORTHANC_REST_USERNAME:-}" "${ORTHANC_REST_PASSWORD:-}" |
    curl -K - -s -f -m 10 "http://127.0.0.1:$ORTHANC_HTTP_PORT$1"
}
dash() {
  dcmp_curl_login "${DASHBOARD_USER:-}" "${DASHBOARD_PASSWORD:-}" |
    curl -K - -s -f -m 10 "http://127.0.0.1:$DASHBOARD_PORT$1"
}
# http_code URL [CURL ARGS...]: the HTTP status of a request without any login
http_code() { curl -s -o /dev/null -w '%{http_code}' -m 10 "${@:2}" "$1"; }
# has TEXT FILE: FILE contains TEXT (a shell test: TEXT may be a secret, kept off command lines)
has() { [[ "$(<"$2")" == *"$1"* ]]; }
# owner_only: nothing under BASEDIR that others may read, and all of it BASEDIR's owner's
owner_only() {
  local open
  open="$(find "$BASEDIR" \( -perm /077 ! -type l \) -o ! -uid "$stack_uid" | head -n 5)"
  [ -z "$open" ] || { say "readable by others or of another owner:"; ls -ld $open; return 1; }
}

# json FILE EXPR: prints the value of a Python expression over the JSON document `d`
json() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# The Orthanc id of the series with this SeriesInstanceUID.
series_id() {
  dcmp_curl_login "$ORTHANC_REST_USERNAME" "$ORTHANC_REST_PASSWORD" |
    curl -K - -s -f -m 10 -X POST "http://127.0.0.1:$ORTHANC_HTTP_PORT/tools/lookup" -d "$1" |
    "$py" -c 'import json,sys; print([r["ID"] for r in json.load(sys.stdin) if r["Type"]=="Series"][0])'
}

uid_of() { dcmdump +P 0020,000e "$1" | sed -E 's/.*\[(.*)\].*/\1/' | head -1; }

# probe_done SERIES_ID: the probe's second job recorded this series
probe_done() { [ -s "$BASEDIR/data/probe/$1/probe-b.json" ]; }

dump_logs() {
  if [ "$mode" = docker ]; then
    docker-compose logs --no-color --tail 40 >"$tmp/compose.log" 2>&1 ||
      docker compose logs --no-color --tail 40 >"$tmp/compose.log" 2>&1 || true
    tail -n 80 "$tmp/compose.log"
  else
    tail -n 20 "$BASEDIR"/logs/*.log
  fi
}

if [ "$mode" = docker ]; then
  # The images share their build stage through the layer cache only while its text is the same.
  build_stage() { sed -n '/^# ---- build stage/,/^# ---- end of the build stage/p' "$1"; }
  check "docker/*/Dockerfile: one build stage text" \
    test "$(build_stage docker/scheduler/Dockerfile)" = "$(build_stage docker/worker/Dockerfile)" -a \
    "$(build_stage docker/scheduler/Dockerfile)" = "$(build_stage docker/dashboard/Dockerfile)"
fi

if [ "$mode" = native ]; then
  mkdir -p "$tmp/received"
  storescp -aet DESTSCP -od "$tmp/received" "$SCP_PORT" >"$tmp/storescp.log" 2>&1 &
  scp_pid=$!
fi

# The process table, read over and over while the stack starts, runs and stops: each distinct
# command line once (checked for the secrets at the end).
# shellcheck disable=SC2016 # $0 belongs to the inner bash
bash -c 'while [ ! -e "$0" ]; do ps -eo args; sleep 0.1; done' "$tmp/ps.stop" 2>/dev/null |
  awk '!seen[$0]++ { print; fflush() }' >"$tmp/ps.txt" &
ps_pid=$!

# ---- up: the README's command, with init.sh run by it ----
stack_up=1 # from here on the exit brings down whatever started, even if run.sh fails halfway
if ! ./run.sh "--$mode" >"$tmp/run.log" 2>&1; then
  cat "$tmp/run.log"
  say "FAIL run.sh --$mode"
  exit 1
fi
check "run.sh brought the stack up" grep -q "$mode mode" "$tmp/run.log"
check "run.sh ran init.sh: the system settings exist" test -s "$BASEDIR/settings.json"
check "run.sh status: every part runs" ./run.sh status
if [ "$mode" = native ]; then
  # started with DCMP_BIN: without it, status (and down) still find the programs it started
  check "run.sh keeps the folder of the programs it started" \
    test "$(cat "$BASEDIR/run/bin")" = "$(cd "$DCMP_BIN" && pwd)"
  check "run.sh status without DCMP_BIN: every part runs" env -u DCMP_BIN ./run.sh status
fi
if [ "$mode" = docker ]; then
  # issue 12: the worker image's python3-pythran is the empty stand-in, so apt brought no
  # compiler and no -dev package, and SciPy still imports (as a non-root user)
  worker_image="dcm-processor/worker:${DCMP_IMAGE_TAG:-latest}"
  check "worker image: no compiler or -dev package (python3-pythran is the empty one)" \
    test "$(docker run --rm --entrypoint sh "$worker_image" -c \
      'dpkg -l | awk "/^ii/ {print \$2}" | grep -cE -- "-dev(:|\$)|^(g\+\+|gcc|cpp)(-[0-9]+)?(:|\$)"; dpkg-query -W -f "\${Version}" python3-pythran')" \
    = "0
0.11.0+ds-7+dcmp.empty"
  check "worker image: numpy, pydicom, nibabel, scipy.ndimage, scipy.interpolate import" \
    test "$(docker run --rm --user 1000:1000 --entrypoint /usr/bin/python3 "$worker_image" -c \
      'import numpy, pydicom, nibabel, scipy.ndimage, scipy.interpolate; print("ok")')" = ok
fi

# ---- a default stack is closed: every login generated into the settings, in force ----
check "the settings made owner-only (they were 644) and run.sh said so" \
  test "$(stat -c %a "$tmp/env")" = 600 -a -n "$(grep 'made it owner-only' "$tmp/run.log")"
secrets=(REDIS_PSWD WEBHOOK_TOKEN ORTHANC_REST_PASSWORD DASHBOARD_PASSWORD ANONYMIZER_SECRET)
for v in "${secrets[@]}" ORTHANC_REST_USERNAME DASHBOARD_USER; do
  val="$(sed -n "s/^$v=//p" "$tmp/env" | tail -n 1)"
  check "$v generated into the settings" test -n "$val"
  export "$v=$val"
done
for v in "${secrets[@]}"; do printf '%s\n' "${!v}"; done >"$tmp/secrets.txt"
export REDISCLI_AUTH="$REDIS_PSWD"
check "the dashboard's login printed once by run.sh" has "password $DASHBOARD_PASSWORD" "$tmp/run.log"
check "Redis refuses a client without the password" bash -c "! REDISCLI_AUTH= redis-cli -p $REDIS_PORT ping 2>&1 | grep -q PONG"
check "Redis answers with it" test "$(rcli ping)" = PONG
check "Orthanc's REST API refuses a request without the login" test "$(http_code "http://127.0.0.1:$ORTHANC_HTTP_PORT/system")" = 401
quiet() { "$@" >/dev/null; }
check "Orthanc answers with it" quiet orthanc /system
check "the scheduler refuses a webhook without the token" \
  test "$(http_code "http://127.0.0.1:$SCHEDULER_PORT/stable-series" -H 'Content-Type: application/json' -d '{"seriesId":"x","LastUpdate":"y"}')" = 401
check "the dashboard asks for its login" test "$(http_code "http://127.0.0.1:$DASHBOARD_PORT/api/queues")" = 401
check "the dashboard answers /health" quiet dash /health
page_ok() { dash / | grep -qi '<html'; }
check "the dashboard serves its page with the login" page_ok

check "init.sh installed base, dcm2nii and temp" bash -c "./service.sh list | grep -q '^base ' && ./service.sh list | grep -q '^dcm2nii ' && ./service.sh list | grep -q '^temp '"
# dcm2nii's NIfTI stored back too (params.store), read at the next event: no restart
"$py" - "$BASEDIR/registry/dcm2nii/settings.json" <<'EOF'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
for e in (d if isinstance(d, list) else [d]):
    e.setdefault("params", {})["store"] = True
json.dump(d, open(p, "w"), indent=2)
EOF

# ---- a service from sources, validated and installed without a restart ----
check "service.sh install probe (sources built)" ./service.sh install probe -p tests/e2e/probe
check "service.sh list shows it" bash -c "./service.sh list | grep -q '^probe .*probe-a probe-b'"
check "service.sh validate probe" ./service.sh validate probe
# the template's Python twin, as a user installs a service of the original: no C code, a
# callback in registry/__init__.py (run by the scheduler), a worker in module/ (pydicom,
# nibabel: Debian's, in the worker image too)
check "service.sh install pytemp (Python: nothing built)" ./service.sh install pytemp -p services/pytemp
check "service.sh validate pytemp" bash -c "./service.sh validate pytemp | tail -n 1 | grep -qx valid"
if [ "$mode" = docker ]; then
  # issue 12: a service whose requirements.txt names a package only pip brings (dcmpe2e, a
  # wheel built here), installed into the running stack: service.sh makes its environment in
  # the worker image, so its job (on CT5N, below) imports it with no restart. pip is told
  # offline where the wheel is as a site gives the workers its pip settings: an override file
  # for the worker service (here through COMPOSE_FILE, not the checkout's
  # docker-compose.override.yml), with the wheel folder mounted.
  mkdir -p "$tmp/dcmpe2e/dcmpe2e" "$tmp/wheels"
  printf '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n[project]\nname = "dcmpe2e"\nversion = "1.0"\n' >"$tmp/dcmpe2e/pyproject.toml"
  echo '__version__ = "1.0"' >"$tmp/dcmpe2e/dcmpe2e/__init__.py"
  check "a wheel of dcmpe2e 1.0 built offline" "$py" -m pip wheel -q --no-deps --no-build-isolation \
    --no-index -w "$tmp/wheels" "$tmp/dcmpe2e"
  printf 'services:\n  worker:\n    environment:\n      PIP_NO_INDEX: "1"\n      PIP_FIND_LINKS: /wheels\n    volumes:\n      - %s:/wheels:ro\n' \
    "$tmp/wheels" >"$tmp/pip-override.yml"
  pip_compose="$root/docker-compose.yml:$tmp/pip-override.yml"
  check "service.sh install pyreq: its environment made in the worker image" \
    env COMPOSE_FILE="$pip_compose" ./service.sh install pyreq -p tests/e2e/pyreq
  # a reinstall asking for a version no wheel gives fails with pip's message, nothing replaced
  cp -a tests/e2e/pyreq "$tmp/pyreq2"
  echo "dcmpe2e==9.9" >"$tmp/pyreq2/module/requirements.txt"
  env COMPOSE_FILE="$pip_compose" ./service.sh install pyreq -p "$tmp/pyreq2" >"$tmp/pyreq2.log" 2>&1
  check "a reinstall pip cannot satisfy fails, saying why" \
    grep -q "No matching distribution found for dcmpe2e==9.9" "$tmp/pyreq2.log"
  check "and keeps the service" grep -qx "dcmpe2e==1.0" "$BASEDIR/modules/pyreq/requirements.txt"
  check "and its environment" grep -qx "dcmpe2e==1.0" "$BASEDIR/modules/.venvs/pyreq/dcmp-requirements.txt"
fi

# ---- a real CT series from pydicom ----
# Natively, a hostile local client attacks the HTTP daemons meanwhile (tests/e2e/attack.py,
# from 127.0.0.2): a 400,000-key body to each webhook, a forged Host at the dashboard, 200 idle
# connections held to each daemon until the series is done. (With Docker every host client
# reaches the daemons through docker-proxy's one address; test_listen covers the limits.)
if [ "$mode" = native ]; then
  ATTACK_TOKEN="$WEBHOOK_TOKEN" ATTACK_DASH_LOGIN="$DASHBOARD_USER:$DASHBOARD_PASSWORD" \
    "$py" tests/e2e/attack.py "$SCHEDULER_PORT" "$DASHBOARD_PORT" 200 "$tmp/attack.stop" \
    "$tmp/attack.txt" &
  attack_pid=$!
fi
storescu -aec "${ORTHANC_AET:-ORTHANC}" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$ct5n"/* ||
  say "FAIL storescu of CT5N"
sid="$(series_id "$(uid_of "$ct5n/2062")")"
check "Orthanc has the CT5N series" test -n "$sid"
if wait_for 90 probe_done "$sid"; then
  rec="$BASEDIR/data/probe/$sid/probe-b.json"
  check "CT5N: PatientID from DCMTK" test "$(json "$rec" 'd["headers"]["PatientID"]')" = 98890234
  check "CT5N: Modality" test "$(json "$rec" 'd["headers"]["Modality"]')" = CT
  check "CT5N: SeriesDescription" test "$(json "$rec" 'd["headers"]["SeriesDescription"]')" = "SmartScore - Gated 0.5 sec"
  check "CT5N: seriesId, studyId, patientId" test "$(json "$rec" '(d["headers"]["seriesId"], bool(d["headers"].get("studyId")), bool(d["headers"].get("patientId")))')" = "('$sid', True, True)"
  check "CT5N: the 5 files under DATA/dcmpath" test "$(json "$rec" 'd["files"]')" = 5
  check "CT5N: its own params" test "$(json "$rec" 'd["params"]["role"]')" = second
  check "CT5N: added_params from the callbacks" test "$(json "$rec" 'd["added_params"]["probe-a"]["series"]')" = "$sid"
  check "CT5N: probe-a ran too" test -s "$BASEDIR/data/probe/$sid/probe-a.json"
  # anonymized in place before the registry's jobs ran (probe-b copied what it saw)
  copies=("$BASEDIR/data/probe/$sid/series"/*)
  tag_of() { dcmdump +P "$1" "$2" 2>/dev/null | sed -E 's/.*\[(.*)\].*/\1/' | head -1; }
  check "anonymized: 5 files" test ${#copies[@]} = 5
  check "anonymized: no original PatientID or name left" bash -c "! dcmdump ${copies[*]} | grep -E '98890234|Doe\^Peter'"
  pseudo="$(tag_of 0010,0020 "${copies[0]}")"
  check "anonymized: a pseudonym as PatientID" test -n "$pseudo" -a "$pseudo" != 98890234
  studies="$(for c in "${copies[@]}"; do tag_of 0020,000d "$c"; done | sort -u)"
  check "anonymized: one new StudyInstanceUID across the series" test "$(echo "$studies" | wc -l)" = 1 -a "$studies" != 1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.1
  # the post services: stored (NIfTI as DICOM, temp's PDF), then the working files cleaned
  cleaned() { [ ! -e "$BASEDIR/data/dicom/$sid" ] && [ ! -e "$BASEDIR/data/nifti/$sid.nii.gz" ]; }
  check "systemCleaner removed the series' working files" wait_for 90 cleaned
  results() { # prints "type instances rows cols patient" for each series the pipeline stored
    local s first
    for s in $(orthanc /series | "$py" -c 'import json,sys; print(" ".join(json.load(sys.stdin)))'); do
      first="$(orthanc "/series/$s" | "$py" -c 'import json,sys; d=json.load(sys.stdin); print(d["Instances"][0], len(d["Instances"]))')"
      orthanc "/instances/${first% *}/simplified-tags" | "$py" -c '
import json, sys
t = json.load(sys.stdin)
if t.get("ActionSource") == "dcm-processor":
    print(t.get("ActionType"), sys.argv[1], t.get("Rows", "-"), t.get("Columns", "-"), t.get("PatientID"), t.get("SeriesDescription"))' "${first#* }"
    done
  }
  results > "$tmp/results.txt"
  check "the NIfTI stored back as a 5-slice 16x16 series under the pseudonym" grep -qx "nifti 5 16 16 $pseudo Processed Information" "$tmp/results.txt"
  # pytemp: its Python callback said yes and injected `storage` with its tags, its Python
  # worker wrote the series as a NIfTI (pydicom, nibabel), storageManager stored that
  check "pytemp's NIfTI (Python callback and worker) stored back: 5 slices of 16x16, its tags" \
    grep -qx "nifti 5 16 16 $pseudo pytemp: SmartScore - Gated 0.5 sec" "$tmp/results.txt"
  check "temp's PDF stored back" grep -q "^pdf 1 " "$tmp/results.txt"
  if [ "$mode" = docker ]; then
    check "pyreq's job imported dcmpe2e 1.0 from its environment, installed with no restart" \
      wait_for 60 grep -qx "1.0 /dcmp/modules/.venvs/pyreq" "$BASEDIR/data/pyreq/$sid.txt"
  fi
  [ $failures -eq 0 ] || cat "$tmp/results.txt"
  if [ "$mode" = native ]; then
    # 5 slices from dcm2nii's NIfTI, 5 from pytemp's, temp's PDF
    received() { [ "$(ls "$tmp/received" | wc -l)" -ge 11 ]; }
    check "the results forwarded to their destination (storescp)" wait_for 60 received
    check "with the DCM-PROCESSOR private block" bash -c "dcmdump +P 0405,1005 $tmp/received/* | grep -q dcm-processor"
  fi
else
  say "FAIL CT5N was not processed within 90 s"
  failures=$((failures + 1))
  dump_logs
fi
if [ -n "${attack_pid:-}" ]; then
  touch "$tmp/attack.stop"
  wait "$attack_pid"
  check "attack: the 400,000-key webhook body refused (400)" grep -qx "hostile 400" "$tmp/attack.txt"
  check "attack: a 400,000-key /stable-study body refused (400)" grep -qx "study 400" "$tmp/attack.txt"
  check "attack: a 400,000-key /stable-patient body refused (400)" grep -qx "patient 400" "$tmp/attack.txt"
  check "attack: the scheduler still answered /health after them (200)" grep -qx "health 200" "$tmp/attack.txt"
  check "attack: the dashboard refused a forged Host (421)" grep -qx "forged 421" "$tmp/attack.txt"
  check "attack: idle connections were held while CT5N was planned and run" \
    test "$(sed -n 's/^opened //p' "$tmp/attack.txt")" -ge 400
fi

# ---- a generated multi-slice CT series ----
tests/e2e/make_series.sh "$tmp/ct20" 20 "E2E 20 slices" "E2E-20" >/dev/null
storescu -aec "${ORTHANC_AET:-ORTHANC}" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$tmp"/ct20/*.dcm ||
  say "FAIL storescu of the 20-slice series"
sid20="$(series_id "$(uid_of "$tmp/ct20/slice1.dcm")")"
if wait_for 90 probe_done "$sid20"; then
  rec="$BASEDIR/data/probe/$sid20/probe-b.json"
  check "20 slices: all files fetched" test "$(json "$rec" 'd["files"]')" = 20
  check "20 slices: PatientID" test "$(json "$rec" 'd["headers"]["PatientID"]')" = E2E-20
  check "20 slices: SeriesDescription" test "$(json "$rec" 'd["headers"]["SeriesDescription"]')" = "E2E 20 slices"
else
  say "FAIL the 20-slice series was not processed within 90 s"
  failures=$((failures + 1))
  dump_logs
fi
check "nothing under BASEDIR readable by others, all of it its owner's (uid $stack_uid)" owner_only
check "no job failed so far" test "$(rcli zcard dcmp:reg:default:failed)$(rcli zcard dcmp:reg:high:failed)" = 00

# ---- three workers in parallel ----
live_workers() { rcli --scan --pattern 'dcmp:worker:*:hb' | wc -l; }
check "run.sh --scale worker=3" ./run.sh --scale worker=3
check "three workers alive in Redis" wait_for 30 test "$(live_workers)" = 3
if [ "$mode" = docker ]; then
  check "three worker containers" test "$(docker ps -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" --filter label=com.docker.compose.service=worker | wc -l)" = 3
fi
tests/e2e/make_series.sh "$tmp/par" 4 PARALLEL "E2E-PAR" >/dev/null
storescu -aec "${ORTHANC_AET:-ORTHANC}" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$tmp"/par/*.dcm ||
  say "FAIL storescu of the PARALLEL series"
sidp="$(series_id "$(uid_of "$tmp/par/slice1.dcm")")"
# each barrier job leaves its mark and waits (2 minutes at most) until three marks are there:
# all three there, and none failed (checked next), is three workers running at once (a count
# of finished jobs would also count the other services' jobs, such as pytemp's)
barrier_marks() { [ "$(ls "$BASEDIR/data/probe/barrier/$sidp" 2>/dev/null | wc -l)" -ge 3 ]; }
if wait_for 150 probe_done "$sidp" && wait_for 150 barrier_marks; then
  check "three barrier jobs passed: three workers ran at once" test "$(ls "$BASEDIR/data/probe/barrier/$sidp" | wc -l)" = 3
else
  say "FAIL the PARALLEL series' jobs did not all finish"
  failures=$((failures + 1))
fi
check "no job failed with three workers" test "$(rcli zcard dcmp:reg:default:failed)" = 0
check "run.sh keeps the worker count when run again" ./run.sh
check "still three workers" wait_for 20 test "$(live_workers)" = 3

# ---- the scheduler down while a series arrives: caught up when it starts ----
if [ "$mode" = docker ]; then
  check "scheduler stopped" bash -c "docker-compose stop scheduler >/dev/null 2>&1 || docker compose stop scheduler >/dev/null 2>&1"
else
  check "scheduler stopped" kill -TERM "$(cat "$BASEDIR/run/scheduler.pid")"
  wait_for 20 bash -c "! kill -0 $(cat "$BASEDIR/run/scheduler.pid") 2>/dev/null"
fi
tests/e2e/make_series.sh "$tmp/late" 5 "SENT WHILE DOWN" "E2E-LATE" >/dev/null
storescu -aec "${ORTHANC_AET:-ORTHANC}" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$tmp"/late/*.dcm ||
  say "FAIL storescu of the late series"
sidl="$(series_id "$(uid_of "$tmp/late/slice1.dcm")")"
stable() { orthanc "/series/$1" | grep -q '"IsStable" : true'; }
check "the late series became stable in Orthanc (its webhook failed)" wait_for 60 stable "$sidl"
sleep 1
check "not processed while the scheduler is down" test ! -e "$BASEDIR/data/probe/$sidl"
check "run.sh starts what is not running" ./run.sh
if wait_for 90 probe_done "$sidl"; then
  rec="$BASEDIR/data/probe/$sidl/probe-b.json"
  check "caught up: PatientID" test "$(json "$rec" 'd["headers"]["PatientID"]')" = E2E-LATE
  check "caught up: 5 files" test "$(json "$rec" 'd["files"]')" = 5
else
  say "FAIL the series sent while the scheduler was down was not caught up within 90 s"
  failures=$((failures + 1))
  dump_logs
fi

# ---- the pipeline's own results are never processed again (the Lua script's loop guard, and
# the scheduler's for the catch-up) ----
sleep 5
# a webhook and the arrival watch may both take the same version a few ms apart: the second is
# recorded, ignored as its duplicate (docs/scheduler.md), and not counted here
not_duplicates() {
  local id n=0
  for id in $(rcli zrange dcmp:events 0 -1); do
    case "$(rcli hget "dcmp:event:$id" error)" in
    "duplicate of event"*) ;;
    *) n=$((n + 1)) ;;
    esac
  done
  echo "$n"
}
check "one event per series sent, none for the results" test "$(not_duplicates)" = 4

# ---- a series below MIN_INSTANCES: an ignored event with the reason, nothing run ----
tests/e2e/make_series.sh "$tmp/small" 2 "TOO SMALL" "E2E-SMALL" >/dev/null
storescu -aec "${ORTHANC_AET:-ORTHANC}" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$tmp"/small/*.dcm ||
  say "FAIL storescu of the 2-slice series"
sids="$(series_id "$(uid_of "$tmp/small/slice1.dcm")")"
ignored() {
  dash '/api/events?perPage=50' | "$py" -c '
import json, sys
e = [x for x in json.load(sys.stdin)["events"]
     if x["seriesId"] == sys.argv[1] and not (x.get("error") or "").startswith("duplicate of event")]
sys.exit(0 if e and e[0]["state"] == "ignored" and "fewer than MIN_INSTANCES=4" in e[0]["error"] else 1)' "$sids"
}
check "a 2-instance series: an ignored event saying why" wait_for 60 ignored
check "and nothing ran for it" test ! -e "$BASEDIR/data/probe/$sids"

# ---- the dashboard sees the same pipeline: events and finished jobs ----
# (a duplicate a webhook and the arrival watch made of one version is listed too, and not counted)
check "the dashboard lists the 5 events" test "$(dash '/api/events?perPage=50' | "$py" -c '
import json, sys
print(sum(1 for x in json.load(sys.stdin)["events"] if not (x.get("error") or "").startswith("duplicate of event")))')" = 5
check "the dashboard counts the finished jobs of queue high (probe-b, once per series)" \
  test "$(dash /api/queues | "$py" -c 'import json,sys; print([q["finished"] for q in json.load(sys.stdin)["queues"] if q["name"]=="high"][0])')" = 4
check "the dashboard lists the workers" test "$(dash /api/workers | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)["workers"]))')" -ge 3

check "still nothing under BASEDIR readable by others" owner_only

# ---- down: nothing left ----
# started_at PID: the process' start time (field 22 of /proc/PID/stat, after the command name,
# which may hold spaces): with it a pid reused by another process (pid_max is 32768 on a 2-CPU
# machine, and a test run wraps it) is not taken for one of the stack's
started_at() { sed -n 's/^.*) [A-Za-z] //p' "/proc/$1/stat" 2>/dev/null | awk '{print $19}'; }
if [ "$mode" = native ]; then
  pids="$(cat "$BASEDIR"/run/*.pid 2>/dev/null | tr '\n' ' ')"
  declare -A born=()
  for p in $pids; do born[$p]="$(started_at "$p")"; done
fi
check "run.sh down" ./run.sh down
stack_up=0
check "run.sh status says stopped" bash -c "! ./run.sh status >/dev/null 2>&1"
if [ "$mode" = native ]; then
  alive=""
  for p in $pids; do
    # a zombie waiting for its reaper is not a process left running
    kill -0 "$p" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] &&
      [ -n "${born[$p]}" ] && [ "$(started_at "$p")" = "${born[$p]}" ] && alive="$alive $p"
  done
  check "no process of the stack left (pids:$pids; alive:${alive:- none})" test -z "$alive"
else
  check "no container of the stack left" test -z "$(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME")"
  check "no network of the stack left" test -z "$(docker network ls -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME")"
fi

# ---- a folder the daemons cannot use: run.sh says which, its owner and mode, and the fix,
# before anything starts ----
chown 12345:12345 "$BASEDIR/logs"
if ./run.sh "--$mode" >"$tmp/perm.log" 2>&1; then
  say "FAIL run.sh started with $BASEDIR/logs of uid 12345"
  failures=$((failures + 1))
  stack_up=1
  ./run.sh down >/dev/null 2>&1
  stack_up=0
fi
check "a folder of another owner: run.sh names it, its owner and mode, and the fix" \
  grep -q "$BASEDIR/logs: uid 12345 (.*), mode 700;.*Fix: as root: chown -R $stack_uid:" "$tmp/perm.log"
[ $failures -eq 0 ] || cat "$tmp/perm.log"
if [ "$mode" = native ]; then
  check "and started nothing" test ! -e "$BASEDIR/run/redis.pid"
else
  check "and started no container" test -z "$(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME")"
fi
chown "$stack_uid:$stack_uid" "$BASEDIR/logs"

# ---- the same BASEDIR natively, as its owner, then with Docker again: each finds the other's
# files its own (Redis' append-only file, Orthanc's storage) ----
if [ "$mode" = docker ]; then
  # switch_run MODE NAME SLICES: the stack up in MODE, a series sent and processed, down again;
  # natively run by BASEDIR's owner (the daemons run as the caller), with Docker by the caller
  switch_run() {
    local m="$1" sidx by=()
    [ "$m" = docker ] || by=(as_owner)
    stack_up=1
    if ! "${by[@]}" ./run.sh "--$m" >"$tmp/run-$2.log" 2>&1; then
      say "FAIL run.sh --$m on the BASEDIR Docker used ($2)"
      tail -n 40 "$tmp/run-$2.log"
      failures=$((failures + 1))
    fi
    tests/e2e/make_series.sh "$tmp/$2" "$3" "$2" "E2E-$2" >/dev/null
    storescu -aec "${ORTHANC_AET:-ORTHANC}" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$tmp/$2"/*.dcm ||
      say "FAIL storescu of the $2 series"
    sidx="$(series_id "$(uid_of "$tmp/$2/slice1.dcm")")"
    check "$2: the earlier events still in Redis" test "$(rcli zcard dcmp:events)" -ge 5
    if wait_for 90 probe_done "$sidx"; then
      check "$2: a series processed" test "$(json "$BASEDIR/data/probe/$sidx/probe-b.json" 'd["files"]')" = "$3"
    else
      say "FAIL $2: the series was not processed within 90 s"
      failures=$((failures + 1))
      dump_logs
    fi
    check "$2: nothing under BASEDIR readable by others, all its owner's" owner_only
    check "$2: run.sh down" "${by[@]}" ./run.sh down
    stack_up=0
  }
  switch_run native NATIVE 4
  switch_run docker DOCKERAGAIN 6
fi

# ---- no secret ever on a command line ----
touch "$tmp/ps.stop"
wait "$ps_pid"
ps_pid=""
check "the process table was read while the stack ran ($(wc -l <"$tmp/ps.txt") command lines)" \
  grep -q "redis-server" "$tmp/ps.txt"
# the leaking command lines are named by their start (the secret itself is not printed)
leaks="$(grep -F -f "$tmp/secrets.txt" "$tmp/ps.txt" | cut -c1-24 | tr '\n' ' ')"
check "no secret in any command line${leaks:+ (seen in: $leaks)}" test -z "$leaks"

if [ $failures -gt 0 ]; then
  say "$failures check(s) failed"
  exit 1
fi
say "all checks passed"
